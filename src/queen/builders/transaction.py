"""TransactionBuilder: atomic acks and pushes over several queues.

``await queen.transaction().ack(msg).queue('out').partition('p').push([...]).commit()``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .. import _core, log, wire, writes
from ..errors import QueenValidationError

if TYPE_CHECKING:
    from ..seam import Host

_Ack = Tuple[Mapping[str, Any], Any, Optional[str]]
_Push = List[bytes]


class TransactionQueue:
    """``.queue(q)`` inside a transaction: pick a partition, then ``push``."""

    def __init__(self, tx: TransactionBuilder, queue: str) -> None:
        self._tx = tx
        self._queue = wire.check_name("queue name", queue)
        self._partition = wire.DEFAULT_PARTITION

    def partition(self, name: str) -> TransactionQueue:
        """The partition to push to (default ``'Default'``)."""
        self._partition = wire.check_name("partition name", name)
        return self

    def push(self, messages: Any) -> TransactionBuilder:
        """Add message dicts to push on commit; returns the transaction."""
        if isinstance(messages, Mapping):
            messages = [messages]
        if not isinstance(messages, (list, tuple)):
            raise QueenValidationError("transaction push takes a list of message dicts")
        try:
            fragments, _ = _core.encode_push_items(self._queue, self._partition, list(messages))
        except (TypeError, ValueError) as e:
            raise QueenValidationError(f"cannot push to {self._queue}: {e}") from None
        if fragments:
            self._tx._ops.append(fragments)
            self._tx._targets.append((self._queue, self._partition))
        return self._tx


class TransactionBuilder:
    """``queen.transaction()``: acks and pushes applied all together or not at all."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._ops: List[Union[_Ack, _Push]] = []
        self._targets: List[Tuple[str, str]] = []  # (queue, partition) pushed to

    def ack(
        self, message: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]],
        status: Any = True, context: Optional[Mapping[str, Any]] = None,
    ) -> TransactionBuilder:
        """Acknowledge message(s) inside the transaction (``True``/``'completed'`` or
        ``False``/``'failed'``; a failed ack in a transaction goes straight to the DLQ).
        The message's ``consumerGroup`` and ``leaseId`` are carried along."""
        error = (context or {}).get("error")
        for m in [message] if isinstance(message, Mapping) else list(message):
            wire.ack_item(m, "completed", None)  # validate now
            self._ops.append((m, status, error))
        return self

    def queue(self, name: str) -> TransactionQueue:
        """Push to this queue inside the transaction: ``.queue(q).push([...])``."""
        return TransactionQueue(self, name)

    async def commit(self) -> Dict[str, Any]:
        """Send everything as one atomic request. Returns ``{'success': True,
        'transactionId', 'results'}``; raises ``QueenHTTPError`` when the server rolled
        the transaction back (nothing was applied)."""
        if not self._ops:
            raise QueenValidationError(  # upstream's text first: code matches on it
                "Transaction has no operations to commit: add .ack(...) or .queue(q).push(...)")
        generation = await self._host.generation()
        ops: List[bytes] = []
        for op in self._ops:
            if isinstance(op, tuple):
                message, status, error = op
                item = wire.ack_item(message, wire.ack_status(status, generation), error)
                ops.append(wire.tx_ack_op(item, message.get("consumerGroup")))
            else:
                ops.append(wire.tx_push_op(op))
        log.info("TransactionBuilder.commit", {"operations": len(ops)})
        async with writes.one_writer(self._host, self._targets):  # 0.7: see queen.writes
            reply = await self._host.send(wire.transaction(ops))
        return wire.parse_transaction(reply)
