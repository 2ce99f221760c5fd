"""Push encoding and buffering, pure-Python twin of ``_push.pyx``."""

from __future__ import annotations

from time import monotonic
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import orjson

from ._ids_py import is_uuid, uuid7

__all__ = ["encode_push_items", "join_items", "encode_push", "PushBuffer", "push_all_stored"]


MAX_TXID = 255  # the servers' transaction_id column; longer ones are never stored


def _check_finite(value: Any, where: str) -> None:
    """ValueError naming the first NaN/Infinity in ``value`` (JSON has no such number)."""
    if type(value) is float:
        if value != value or value in (_INF, -_INF):
            raise ValueError(f"{where} is {value!r}: JSON has no NaN or Infinity (send null or a string)")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for n, v in enumerate(value):
            _check_finite(v, f"{where}[{n}]")
    elif isinstance(value, float):  # a float subclass
        _check_finite(float(value), where)


_INF = float("inf")


def _check_target(queue: Any, partition: Any) -> None:
    if not isinstance(queue, str):
        raise TypeError(f"queue must be a str, not {type(queue).__name__}")
    if not queue:
        raise ValueError("queue must be a non-empty str")
    if not isinstance(partition, str):
        raise TypeError(f"partition must be a str, not {type(partition).__name__}")
    if not partition:
        raise ValueError("partition must be a non-empty str")


# (queue, partition) -> b'{"queue":..,"partition":..,"payload":' (producers reuse a few)
_HEADS: Dict[Tuple[str, str], bytes] = {}
_HEADS_SIZE = 1024


def _head(queue: Any, partition: Any) -> bytes:
    plain = type(queue) is str and type(partition) is str
    if plain:
        head = _HEADS.get((queue, partition))
        if head is not None:
            return head
    _check_target(queue, partition)
    try:
        head = orjson.dumps({"queue": queue, "partition": partition})[:-1] + b',"payload":'
    except orjson.JSONEncodeError as e:
        raise TypeError(f"queue/partition are not valid text: {e}") from None
    if plain:
        if len(_HEADS) >= _HEADS_SIZE:
            _HEADS.clear()
        _HEADS[(queue, partition)] = head
    return head


def encode_push_items(
    queue: str, partition: str, messages: Sequence[Mapping[str, Any]]
) -> Tuple[List[bytes], List[str]]:
    """One JSON push item per message, plus the transactionIds used (same order).

    payload = ``data``, else ``payload``, else the whole message; transactionId = the
    message's own (non-empty str; absent or None: a fresh UUIDv7); traceId only when
    it is a UUID. Errors: TypeError (non-dict message, bad types, non-JSON data),
    ValueError (empty queue/partition/transactionId, a transactionId over MAX_TXID
    characters, NaN or Infinity anywhere in the data).
    """
    # Items are spliced from JSON pieces: {"queue":..,"partition":..,"payload":<data>,...}
    head = _head(queue, partition)
    fragments: List[bytes] = []
    txids: List[str] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise TypeError(f"message {i} must be a dict, not {type(m).__name__}")
        if "data" in m:
            payload = m["data"]
        elif "payload" in m:
            payload = m["payload"]
        else:
            payload = m
        txid = m.get("transactionId")
        if txid is None:
            txid = uuid7()
        elif not isinstance(txid, str):
            raise TypeError(f"message {i}: transactionId must be a str, not {type(txid).__name__}")
        elif not txid:
            raise ValueError(f"message {i}: transactionId must not be empty")
        elif len(txid) > MAX_TXID:
            raise ValueError(f"message {i}: transactionId is longer than {MAX_TXID} characters")
        try:
            body = orjson.dumps(payload)
            txid_json = orjson.dumps(txid)
        except orjson.JSONEncodeError as e:
            raise TypeError(f"message {i}: data is not JSON serialisable: {e}") from None
        if b"null" in body:  # orjson writes NaN/Infinity as null: find out which it was
            _check_finite(payload, f"message {i}: data")
        item = head + body + b',"transactionId":' + txid_json
        trace_id = m.get("traceId")
        if isinstance(trace_id, str) and is_uuid(trace_id):
            item += b',"traceId":"' + trace_id.encode("ascii") + b'"}'
        else:
            item += b"}"
        fragments.append(item)
        txids.append(txid)
    return fragments, txids


def join_items(fragments: Sequence[bytes]) -> bytes:
    """The push request body ``{"items":[f1,f2,...]}`` from encoded items."""
    return b'{"items":[' + b",".join(fragments) + b"]}"


def encode_push(
    queue: str, partition: str, messages: Sequence[Mapping[str, Any]]
) -> Tuple[bytes, List[str]]:
    """``join_items(encode_push_items(...))``: a whole push body and its transactionIds."""
    fragments, txids = encode_push_items(queue, partition, messages)
    return join_items(fragments), txids


class PushBuffer:
    """Encoded push items waiting to be sent for one queue/partition.

    ``append`` reports when ``max_count`` is reached; ``due(now)`` reports when the oldest
    item has waited ``max_millis`` (``now`` from ``time.monotonic()``).
    """

    __slots__ = ("max_count", "max_millis", "_fragments", "_txids", "_first_at")

    def __init__(self, max_count: int, max_millis: float) -> None:
        if not isinstance(max_count, int) or isinstance(max_count, bool):
            raise TypeError(f"max_count must be an int, not {type(max_count).__name__}")
        if not isinstance(max_millis, (int, float)) or isinstance(max_millis, bool):
            raise TypeError(f"max_millis must be a number, not {type(max_millis).__name__}")
        if max_count < 1:
            raise ValueError(f"max_count must be >= 1, got {max_count}")
        if not max_millis >= 0:
            raise ValueError(f"max_millis must be >= 0, got {max_millis}")
        self.max_count = max_count
        self.max_millis = float(max_millis)
        self._fragments: List[bytes] = []
        self._txids: List[str] = []
        self._first_at = 0.0

    def append(self, fragments: Sequence[bytes], txids: Sequence[str]) -> bool:
        """Add encoded items; True when the buffer holds ``max_count`` or more."""
        if len(fragments) != len(txids):
            raise ValueError(
                f"append() got {len(fragments)} fragments but {len(txids)} transactionIds"
            )
        if fragments and not self._fragments:
            self._first_at = monotonic()
        self._fragments.extend(fragments)
        self._txids.extend(txids)
        return len(self._fragments) >= self.max_count

    def take(self) -> Tuple[List[bytes], List[str]]:
        """Everything buffered (oldest first); the buffer is empty afterwards."""
        fragments, txids = self._fragments, self._txids
        self._fragments = []
        self._txids = []
        self._first_at = 0.0
        return fragments, txids

    @property
    def count(self) -> int:
        return len(self._fragments)

    @property
    def first_at(self) -> float:
        return self._first_at

    def due(self, now: float) -> bool:
        """True when items are buffered and the oldest has waited ``max_millis``."""
        return bool(self._fragments) and now >= self._first_at + self.max_millis / 1000.0

    def __len__(self) -> int:
        return len(self._fragments)

    def __repr__(self) -> str:
        return f"PushBuffer(count={len(self._fragments)}, max_count={self.max_count}, max_millis={self.max_millis})"


# ---------------------------------------------------------------- push replies
# A push reply is a JSON array with one flat object per item; all a buffer needs to know
# is "was every item stored?". The compiled twin scans the bytes without building the
# reply (and answers False outside a simple JSON subset: the caller then parses); here
# orjson builds it, which is far faster than scanning bytes in Python.


def push_all_stored(body: Any, count: int) -> bool:
    """True when ``body`` is a push reply of exactly ``count`` objects whose (last)
    ``status`` is a non-empty string other than ``failed``. False means "parse it":
    the compiled twin also answers False for a reply outside its JSON subset."""
    if type(body) is not bytes:
        return False
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if type(doc) is not list or len(doc) != count:
        return False
    for item in doc:
        if type(item) is not dict:
            return False
        status = item.get("status")
        if type(status) is not str or not status or status == "failed":
            return False
    return True
