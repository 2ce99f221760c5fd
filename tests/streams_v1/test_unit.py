"""The streams SDK without a server: import surface, config_hash (upstream's
reference vectors), chain compilation rules, operator validation, rate limiters."""

from __future__ import annotations

import math
from typing import Any, Dict

import pytest

import queen
from queen import QueenValidationError, Stream, sliding_window_gate, token_bucket_gate
from queen.streams.runner import GateContext
from queen.streams.stream import config_hash_of


class Q:
    """A stand-in source/sink: only a name."""

    def __init__(self, name: str) -> None:
        self.name = name


def f(*_: Any) -> Any:
    return 1


def src() -> Stream:
    return Stream.from_(Q("src"))


def test_import_surface() -> None:
    import queen.streams as qs
    from queen.streams import operators, stream

    assert queen.Stream is qs.Stream is stream.Stream
    assert queen.token_bucket_gate is qs.token_bucket_gate
    for name in ("MapOperator", "WindowSessionOperator", "AggregateOperator", "state_key_for",
                 "parse_state_key", "RESERVED_AGGREGATE_FIELDS"):
        assert hasattr(operators, name)
    assert Stream.from_queue(Q("x")).source_queue == "x"
    from queen.streams import errors
    from queen.streams.runtime import Runner, cycle, register, state, streams_http_client

    assert register.StreamsRegisterFailed is errors.StreamsRegisterFailed
    assert cycle.StreamsCycleFailed is errors.StreamsCycleFailed
    assert state.StreamsStateGetFailed is errors.StreamsStateGetFailed
    assert streams_http_client.StreamsHttpError is errors.StreamsHttpError
    assert Runner is qs.Runner


HASHES = [
    (lambda: src().window_tumbling(seconds=60).aggregate({"count": f, "sum": f})
     .to(Q("orders.totals")),
     "88cc729bb90114d58754c19385312d96123d01e2469a2602533e0f422e96872c"),
    (lambda: src().map(f).filter(f).to(Q("out")),
     "26e8e576fb2b4e60473d325efea14df31e80fd246930f4754557250236e49b69"),
    (lambda: src().gate(f).to(Q("approved")),
     "684dd2cf7e992c2fa5fd2366b2e4ddb57e66edecfa612e385e5cde5fd9e576b3"),
    (lambda: src().window_tumbling(seconds=2, idle_flush_ms=1000)
     .aggregate({"count": f, "sum": f, "max": f}).to(Q("sdk-totals")),
     "60fc9753ed51b6265072562e5d2c521164dded3a8fe1c424aa22c09af8714057"),
    (lambda: src().key_by(f).window_session(gap=30, gracePeriod=5).reduce(f, 0).foreach(f),
     "8bd93d7f7625e24800bb1cb9b0886a95b7fb5049024594d4e2e0a354f4480a62"),
    (lambda: src().window_sliding(size=60, slide=10, event_time=f, allowed_lateness=5,
                                  on_late="include").reduce(f).to(Q("o")),
     "5209146b991b0b1d1a67b151de7d947a1763bd7fc1fb3953219142e1be8790fa"),
    (lambda: src().window_cron(every="hour").aggregate({"avg": f}).to(Q("o")),
     "6d4d253716d9bf7874d0739434beb395feccfedfdd65ea54aafbbe0a0a2e1310"),
    (lambda: src().window_tumbling(seconds=60.0).reduce(f, {"x": 0}).to(Q("o")),
     "6414bc2edef2db26f8b39640881244acd558d53f9f191f3ab52163fc613d5055"),
]


@pytest.mark.parametrize(("build", "digest"), HASHES)
def test_config_hash_matches_upstream(build: Any, digest: str) -> None:
    assert build()._compile().config_hash == digest


def test_config_hash_ignores_callbacks_and_run_options() -> None:
    a = src().map(lambda m: 1).window_tumbling(seconds=5).reduce(lambda a, v: a, 1)
    b = src().map(lambda m: 2).window_tumbling(seconds=5).reduce(lambda a, v: v, 2)
    assert a._compile().config_hash == b._compile().config_hash
    c = src().map(f).window_tumbling(seconds=5, idle_flush_ms=10).reduce(f, 1)
    assert c._compile().config_hash != a._compile().config_hash
    assert config_hash_of([]) == config_hash_of([])


def test_stages() -> None:
    c = (src().map(f).key_by(f).filter(f).window_tumbling(seconds=1).map(f)
         .aggregate({"sum": f}).map(f).filter(f).to(Q("o")))._compile()
    st = c.stages
    assert [o.kind for o in st.pre] == ["map", "filter", "map"]
    assert [o.kind for o in st.post] == ["map", "filter"]
    assert st.key_by is not None and st.window is not None and st.reducer is not None
    assert st.sink.kind == "sink" and st.sink.queue_name == "o"
    assert len(c.operators) == 9


@pytest.mark.parametrize(("build", "text"), [
    (lambda: src().to(Q("a")).map(f), "found sink at position 0 of 2"),
    (lambda: src().foreach(f).to(Q("a")), "found foreach at position 0 of 2"),
    (lambda: src().key_by(f).key_by(f), "only one .key_by() per stream"),
    (lambda: src().window_tumbling(seconds=1).reduce(f).key_by(f),
     ".key_by() must come before window/reduce/gate"),
    (lambda: src().window_tumbling(seconds=1).window_cron(every="day"),
     "only one window operator per stream"),
    (lambda: src().window_tumbling(seconds=1).reduce(f).window_cron(every="day"),
     "only one window operator"),
    (lambda: src().gate(f).window_tumbling(seconds=1),
     "window+reduce is incompatible with .gate()"),
    (lambda: src().window_tumbling(seconds=1).reduce(f).reduce(f),
     "only one reduce/aggregate per stream"),
    (lambda: src().reduce(f), "reduce/aggregate requires a preceding window operator"),
    (lambda: src().gate(f).gate(f), "only one .gate() per stream"),
    (lambda: src().window_tumbling(seconds=1).gate(f),
     ".gate() is incompatible with windowing/reduce"),
    (lambda: src().window_session(gap=1), "window_session requires a downstream"),
])
def test_compile_rejects(build: Any, text: str) -> None:
    with pytest.raises(ValueError) as info:
        build()._compile()
    assert text in str(info.value)


@pytest.mark.parametrize(("call", "exc", "text"), [
    (lambda: src().window_tumbling(seconds=0), ValueError, "seconds=<positive number>"),
    (lambda: src().window_tumbling(seconds=True), ValueError, "seconds=<positive number>"),
    (lambda: src().window_sliding(size=10, slide=0), ValueError, "slide=<positive number>"),
    (lambda: src().window_sliding(size=10, slide=3), ValueError, "integer multiple of slide"),
    (lambda: src().window_cron(every=5), ValueError, "every='second'"),
    (lambda: src().window_cron(every="month"), ValueError, "(got 'month')"),
    (lambda: src().window_session(gap=-1), ValueError, "gap=<positive number>"),
    (lambda: src().window_tumbling(seconds=1, on_late="keep"), ValueError,
     "on_late must be 'drop' or 'include'"),
    (lambda: src().window_tumbling(seconds=1, bogus=1), TypeError, "bogus"),
    (lambda: src().aggregate([]), TypeError, "dict of named extractors"),
    (lambda: src().aggregate({"a": 1}), TypeError, "aggregate.a must be callable"),
    (lambda: src().aggregate({}), ValueError, "at least one extractor"),
    (lambda: src().gate(5), TypeError, ".gate(fn) requires a callable"),
    (lambda: src().to(Q("")), ValueError, "Could not extract queue name"),
])
def test_operator_validation(call: Any, exc: type, text: str) -> None:
    with pytest.raises(exc) as info:
        call()
    assert text in str(info.value)


def test_window_options_camel_case_and_tags() -> None:
    w = src().window_tumbling(seconds=2, gracePeriod=1.5, idleFlushMs=-5,
                              allowedLateness=3, onLate="include")._operators[0]
    assert (w.grace_period_ms, w.idle_flush_ms, w.allowed_lateness_ms) == (1500, 0, 3000)
    assert w.operator_tag == "tumb:2" and w.on_late_policy == "include"
    assert src().window_sliding(size=4, slide=2)._operators[0].operator_tag == "slide:4:2"
    assert src().window_cron(every="week")._operators[0].operator_tag == "cron:week"
    assert src().window_session(gap=2.5)._operators[0].operator_tag == "sess:2.5"
    with pytest.raises(TypeError):
        src().window_tumbling(60)  # type: ignore[call-arg]


async def test_run_needs_a_query_id_and_a_client_queue() -> None:
    with pytest.raises(ValueError, match="query_id"):
        await src().map(f).run()
    with pytest.raises(QueenValidationError, match="queen.queue"):
        await src().map(f).run(query_id="q")


def test_aggregate_finish_drops_the_avg_helpers() -> None:
    agg = src().aggregate({"avg": f, "count": f})._operators[0]
    assert agg.make_initial() == {"__avg_sum": 0, "__avg_count": 0, "avg": 0, "count": 0}
    assert agg.finish({"__avg_sum": 3, "__avg_count": 2, "avg": 1.5, "count": 2}) == \
        {"avg": 1.5, "count": 2}


def ctx(state: Dict[str, Any], now: int) -> GateContext:
    return GateContext(state, now, "pid", "p", "k")


def test_token_bucket() -> None:
    gate = token_bucket_gate(capacity=2, refill_per_sec=1)
    st: Dict[str, Any] = {}
    assert [gate({}, ctx(st, 0)) for _ in range(3)] == [True, True, False]
    assert gate({}, ctx(st, 999)) is False and gate({}, ctx(st, 1000)) is True
    assert st["allowedTotal"] == 3 and st["consumedTotal"] == 3
    weighted = token_bucket_gate(10, 1, cost_fn=lambda v: v["w"], allow_zero_cost=False)
    st2: Dict[str, Any] = {}
    assert weighted({"w": 7}, ctx(st2, 0)) and not weighted({"w": 7}, ctx(st2, 0))
    assert weighted({"w": 0}, ctx(st2, 0)) is False
    assert weighted({"w": "x"}, ctx(st2, 0)) is True  # non-numbers cost 1
    for bad in (0, -1, math.inf, math.nan, True):
        with pytest.raises(ValueError):
            token_bucket_gate(bad, 1)
    with pytest.raises(TypeError):
        token_bucket_gate(1, 1, cost_fn=5)  # type: ignore[arg-type]


def test_sliding_window_gate() -> None:
    gate = sliding_window_gate(limit=2, window_sec=1)
    st: Dict[str, Any] = {}
    assert [gate({}, ctx(st, 0)) for _ in range(3)] == [True, True, False]
    # half into the next window the previous two still weigh 1: one more fits
    assert gate({}, ctx(st, 1500)) is True and gate({}, ctx(st, 1500)) is False
    assert gate({}, ctx(st, 5000)) is True  # windows skipped: the old count is gone
    with pytest.raises(ValueError):
        sliding_window_gate(0, 1)
    with pytest.raises(ValueError):
        sliding_window_gate(1, math.inf)


def test_gate_context_aliases() -> None:
    c = ctx({}, 5)
    assert (c.streamTimeMs, c.partitionId, c.partition, c.key) == (5, "pid", "p", "k")


async def test_run_validates_before_sending() -> None:
    class Host:
        closed = False
        sent: list = []

        async def send(self, request: Any) -> Any:
            self.sent.append(request)
            raise AssertionError("nothing may be sent")

        async def generation(self) -> str:
            return "0.15"

    class Nameless:
        name = None
        host = Host()

    with pytest.raises(QueenValidationError, match="named queue"):
        await Stream.from_(Nameless()).map(f).run(query_id="q")
    with pytest.raises(QueenValidationError, match="query_id must be a str"):
        await Stream.from_(Nameless()).map(f).run(query_id=5)  # type: ignore[arg-type]
    assert Host.sent == []
