"""A typed tour of the public API, checked by ``mypy --strict`` (see test_typing.py).

It is never run; it must type-check.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from queen import (
    AckResult,
    BufferFlushError,
    Message,
    PushResult,
    Queen,
    QueenError,
    QueenHTTPError,
    QueenServerFeatureError,
    RenewResult,
    run,
)


async def handler(message: Message) -> None:
    data: Dict[str, Any] = message["data"]
    await message["trace"]({"traceName": ["order", "tenant"], "eventType": "step", "data": data})


async def batch_handler(messages: List[Message]) -> None:
    for message in messages:
        print(message["transactionId"], message.get("consumerGroup"))


async def main() -> None:
    queen: Queen = Queen("http://localhost:6632")
    async with Queen(["http://a:6632", "http://b:6632"]) as other:
        await other.queue("tasks").create()
    await queen.queue("orders").config({"leaseTime": 300, "retryLimit": 3}).create()

    pushed: List[PushResult] = await queen.queue("orders").partition("p").push(
        [{"data": {"orderId": 1}}, {"transactionId": "order-2", "data": {"orderId": 2}}]
    )
    status: str = pushed[0]["status"]
    await (queen.queue("orders").push([{"data": 1}])
           .on_success(lambda messages: None)
           .on_error(lambda messages, error: None)
           .on_duplicate(lambda messages, error: None))
    await queen.queue("events").buffer({"message_count": 500, "time_millis": 100}).push(
        [{"data": status}])
    await queen.queue("events").flush_buffer()
    stats: Dict[str, Any] = queen.get_buffer_stats()
    print(stats["totalBufferedMessages"])

    messages: List[Message] = await queen.queue("orders").batch(10).wait(True).pop()
    if messages:
        one: AckResult = await queen.ack(messages[0], True)
        many: List[AckResult] = await queen.ack(messages[1:], False, {"error": "bad"})
        print(one["success"], [r["status"] for r in many])
        lease: RenewResult = await queen.renew(messages[0])
        leases: List[RenewResult] = await queen.renew([m["leaseId"] or "" for m in messages])
        print(lease["success"], len(leases))
        result: Dict[str, Any] = await (queen.transaction()
                                        .ack(messages[0])
                                        .queue("out").partition("x").push([{"data": 1}])
                                        .commit())
        print(result["transactionId"])

    dlq: Dict[str, Any] = await queen.queue("orders").dlq("group").limit(10).offset(0).from_(
        "2025-01-01").to("2025-01-31").get()
    print(dlq["total"])

    stop = asyncio.Event()
    await (queen.queue("orders").group("workers").concurrency(2).batch(10).limit(100)
           .idle_millis(5000).auto_ack(False).renew_lease(True, 60000)
           .subscription_mode("new").consume(batch_handler, signal=stop)
           .on_success(lambda m, r: None).on_error(lambda m, e: None))
    await queen.queue("orders").each().consume(handler)

    await queen.delete_consumer_group("workers", delete_metadata=False)
    await queen.update_consumer_group_timestamp("workers", "2025-11-10T10:00:00Z")
    try:
        await queen.flush_all_buffers()
    except BufferFlushError as e:
        print(len(e.failures))
    except (QueenHTTPError, QueenServerFeatureError) as e:
        print(e)
    except QueenError:
        raise
    await queen.close()


if __name__ == "__main__":
    run(main())
