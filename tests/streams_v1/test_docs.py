"""The complete pipeline of docs/streams-sdk.md runs as written (with unique names,
1-s windows instead of 60-s ones, and the hour-long sleep replaced by a wait for its
results)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict

from queen import Queen

from .helpers import Sink, wait_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "streams-sdk.md"


def example() -> str:
    text = DOC.read_text()
    section = text[text.index("## A complete pipeline"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_the_documented_pipeline(queen: Queen, queen_url: str, needs015: None,
                                       unique_name: Callable[[str], str]) -> None:
    src, dst, query = unique_name("orders"), unique_name("totals"), unique_name("q")
    code = (example()
            .replace('"http://localhost:6632"', repr(queen_url))
            .replace('"orders"', repr(src)).replace('"totals"', repr(dst))
            .replace('"orders.per-customer"', repr(query))
            .replace("seconds=60, grace_period=5", "seconds=1, idle_flush_ms=200")
            .replace("asyncio.run(main())", ""))
    sink = Sink(queen, dst)

    async def until_results(_seconds: float) -> None:
        for customer, amounts in (("c1", [10, 30, -5]), ("c2", [7])):
            await queen.queue(src).partition(customer).push(
                [{"customer": customer, "amount": a} for a in amounts])
        async def all_counted() -> bool:
            await sink.drain()
            return sum(d["count"] for _, d in sink.rows) == 3
        await wait_for(all_counted, "both customers' totals")

    ns: Dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), ns)
    ns["asyncio"] = SimpleNamespace(sleep=until_results, run=asyncio.run)
    try:
        await ns["main"]()
    finally:
        for name in (src, dst):
            await queen.queue(name).delete()
    # (a second boundary may split a customer's orders over two windows)
    totals: Dict[str, Dict[str, Any]] = {}
    for _, d in sink.rows:
        assert set(d) == {"customer", "from", "count", "sum", "max", "avg"}  # no helpers
        assert d["avg"] == d["sum"] / d["count"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", d["from"])
        t = totals.setdefault(d["customer"], {"count": 0, "sum": 0, "max": None})
        t["count"] += d["count"]
        t["sum"] += d["sum"]
        t["max"] = d["max"] if t["max"] is None else max(t["max"], d["max"])
    assert totals == {"c1": {"count": 2, "sum": 40, "max": 30},
                      "c2": {"count": 1, "sum": 7, "max": 7}}
