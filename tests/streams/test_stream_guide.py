"""The guide's "Streaming (Windowed Processing)" examples, as written, against the
embedded 0.7 server. Only the window lengths are shrunk (60 s -> 1 s) and the
clock is fake; ``consumer.process`` runs until the test has seen the window."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, List

from queen import Queen
from queen.testing import FakeClock

T0 = 1_800_000_000.0

EVENTS = {
    "events": {"userId": "u1", "value": 150, "amount": 10.5, "duration": 3, "price": 9.5,
               "status": "active", "quantity": 2, "timestamp": 100},
    "actions": {"userId": "u2", "value": 50, "amount": 1, "duration": 7, "price": 2,
                "status": "idle", "quantity": 1, "timestamp": 90},
    "clicks": {"userId": "u2", "value": 300, "amount": 4.25, "duration": 5, "price": 20,
               "status": "active", "quantity": 3, "timestamp": 120},
}


async def test_guide_streaming_examples(embedded_server: Callable[..., Any], capsys: Any) -> None:
    srv = embedded_server("0.7", clock=FakeClock(start=T0))
    async with Queen(srv.url) as queen:
        for name in EVENTS:
            await queen.queue(name).create()

        # --- guide: Define a Stream (60/30/60 s in the guide) ---
        # Define stream
        await (queen.stream('user-events', 'analytics')
            .sources(['events', 'actions', 'clicks'])
            .partitioned()
            .tumbling_time(1)         # 1 second windows
            .grace_period(0.5)        # 0.5 second late arrival grace
            .lease_timeout(60)        # 60 second lease
            .define())

        srv.advance(0.2)
        for name, data in EVENTS.items():
            await queen.queue(name).partition("region-1").push([{"data": data}])
        srv.advance(1.5)              # later traffic in every source moves the watermark
        for name in EVENTS:
            await queen.queue(name).partition("tick").push([{"data": {"value": 0}}])

        seen: List[Any] = []
        stats_seen: List[Dict[str, Any]] = []

        # --- guide: Consume Windows ---
        consumer = queen.consumer('user-events', 'my-group')

        async def process_window(window):  # type: ignore[no-untyped-def]
            # Get all messages
            print(f"Window has {window.size()} messages")

            # Filter messages
            window.filter(lambda msg: msg['data']['value'] > 100)

            # Group by key
            groups = window.group_by('data.userId')
            print(f"Found {len(groups)} users")

            # Aggregate
            stats = window.aggregate({
                'count': True,
                'sum': ['data.amount'],
                'avg': ['data.duration'],
                'min': ['data.price'],
                'max': ['data.price']
            })

            print('Stats:', stats)
            # {'count': 42, 'sum': {'data.amount': 1234.56}, ...}
            stats_seen.append(stats)
            seen.append(window)

        task = asyncio.ensure_future(consumer.process(process_window))
        try:
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.025)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        assert stats_seen == [{"count": 2, "sum": {"data.amount": 14.75},
                               "avg": {"data.duration": 4.0},
                               "min": {"data.price": 9.5}, "max": {"data.price": 20}}]
        out = capsys.readouterr().out
        assert "Window has 3 messages" in out and "Found 2 users" in out

        # --- guide: Window Methods ---
        window = seen[0]

        # Filter
        window.filter(lambda msg: msg['data']['status'] == 'active')

        # Group by (supports dot notation)
        groups = window.group_by('data.userId')
        for user_id, messages in groups.items():
            print(f"User {user_id}: {len(messages)} messages")

        # Aggregate
        stats = window.aggregate({
            'count': True,
            'sum': ['data.amount', 'data.quantity'],
            'avg': ['data.price'],
            'min': ['data.timestamp'],
            'max': ['data.timestamp']
        })

        # Reset to original messages
        window.reset()

        # Get sizes
        original = window.original_size()
        current = window.size()

        assert stats == {"count": 2, "sum": {"data.amount": 14.75, "data.quantity": 5},
                         "avg": {"data.price": 14.75}, "min": {"data.timestamp": 100},
                         "max": {"data.timestamp": 120}}
        assert (original, current) == (3, 3)
        assert "User u1: 1 messages" in capsys.readouterr().out
