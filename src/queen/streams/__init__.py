"""The Queen 0.15 streams SDK: stateful stream processing in the client, with state
kept on the server and exactly-once cycles (``POST /streams/v1/cycle``).

    from queen import Queen, Stream

    async with Queen("http://localhost:6632") as q:
        runner = await (Stream.from_(q.queue("orders"))
                        .key_by(lambda m: m["data"]["customer"])
                        .window_tumbling(seconds=60)
                        .aggregate({"count": lambda v: 1, "sum": lambda v: v["amount"]})
                        .to(q.queue("totals"))
                        .run(query_id="totals-per-customer"))
        ...
        await runner.stop()

Same names and shapes as upstream's Python SDK (queen-mq 0.15/2.6.0); the
differences are listed in docs/streams-sdk.md.
"""

from .helpers import sliding_window_gate, token_bucket_gate
from .runner import Runner
from .stream import Stream

__all__ = ["Stream", "Runner", "token_bucket_gate", "sliding_window_gate"]
