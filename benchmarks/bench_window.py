"""Window.aggregate over a 100,000-message window: compiled vs pure core.

    pytest benchmarks/bench_window.py --benchmark-enable -p no:cacheprovider
    python benchmarks/bench_window.py          # quick table with the speed-up

Target: the compiled twin at least 3x faster than the pure one.
"""

from __future__ import annotations

import random
import sys
import time
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

import queen._core
import queen.stream.window as window_mod
from queen.stream import Window

N = 100_000
SPEC: Dict[str, Any] = {
    "count": True,
    "sum": ["data.amount", "data.quantity"],
    "avg": ["data.duration"],
    "min": ["data.price"],
    "max": ["data.price"],
}


def make_messages(n: int = N, seed: int = 7) -> List[Dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        data: Dict[str, Any] = {
            "userId": f"u{rnd.randrange(1000)}",
            "amount": round(rnd.uniform(0, 500), 2),
            "quantity": rnd.randrange(1, 10),
            "duration": rnd.randrange(1, 5000),
            "price": rnd.uniform(1, 100),
        }
        if i % 50 == 0:
            del data["duration"]        # missing paths are skipped
        if i % 77 == 0:
            data["price"] = "n/a"       # non-numeric values are skipped
        out.append({"id": f"m{i}", "created_at": "2026-01-01 00:00:00+00", "data": data})
    return out


def make_window(messages: List[Dict[str, Any]]) -> Window:
    return Window(id="s:k:a:b", key="k", start="a", end="b", lease_id="L", messages=messages)


def twin(pure: bool) -> SimpleNamespace:
    return queen._core.load(pure=pure)


@pytest.fixture(scope="module")
def window() -> Window:
    return make_window(make_messages())


@pytest.mark.parametrize("impl", ["pure", "compiled"])
def test_aggregate_100k(benchmark: Any, window: Window, impl: str,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        core = twin(pure=impl == "pure")
    except ImportError:
        pytest.skip("compiled core not built")
    monkeypatch.setattr(window_mod, "_core", core)
    benchmark.group = "Window.aggregate 100k"
    result = benchmark(window.aggregate, SPEC)
    assert result["count"] == N


def _best(fn: Any, rounds: int = 7) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    window = make_window(make_messages())
    timings = {}
    for impl in ("pure", "compiled"):
        try:
            core = twin(pure=impl == "pure")
        except ImportError:
            print(f"{impl:9s} not built")
            continue
        window_mod._core = core  # type: ignore[assignment]
        timings[impl] = _best(lambda: window.aggregate(SPEC))
        print(f"{impl:9s} {timings[impl] * 1000:8.2f} ms per aggregate of {N} messages")
    if len(timings) == 2:
        print(f"speed-up  {timings['pure'] / timings['compiled']:8.2f}x (target >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
