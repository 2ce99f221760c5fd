"""``Admin`` over a fake seam: what goes on the wire for each call, that bad arguments
are refused before anything is sent, and the normalisation of the real servers'
recorded answers (wire-recordings ``admin.json`` of 0.7.5 and 0.15.1)."""

from __future__ import annotations

import json
from typing import Any, List, Tuple

import pytest

from queen import QueenHTTPError, QueenServerFeatureError, QueenValidationError
from queen.admin import Admin
from queen.wire import Request
from shared_paths import RECORDINGS

PID = "11111111-2222-4333-8444-555555555555"
GENS = {"0.7.5": "0.7", "0.15.1": "0.15"}


class Answer:
    def __init__(self, status: int, body: bytes, method: str = "GET", url: str = "") -> None:
        self.status, self.body, self.method, self.url = status, body, method, url


class FakeHost:
    """Records requests; answers from a queue of (status, body)."""

    def __init__(self, generation: str = "0.15") -> None:
        self.sent: List[Request] = []
        self.answers: List[Tuple[int, Any]] = []
        self.gen = generation

    @property
    def closed(self) -> bool:
        return False

    async def send(self, request: Request) -> Answer:
        self.sent.append(request)
        status, body = self.answers.pop(0) if self.answers else (200, {})
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return Answer(status, b"" if body is None else raw, request.method, request.path)

    async def generation(self) -> str:
        return self.gen


def step(version: str, index: int) -> Tuple[int, Any]:
    s = json.loads((RECORDINGS / version / "admin.json").read_text())[index]
    return s["status"], s["response"]


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


async def test_requests_on_the_wire(host: FakeHost) -> None:
    a = Admin(host)
    host.answers = [(200, {"messages": []}), (200, [])]
    await a.list_messages(queue="q", namespace="ns", status="pending", limit=5, from_="yesterday")
    await a.get_lagging_consumers()
    await a.delete_consumer_group_for_queue("g", "q", delete_metadata=False)
    await a.seek_consumer_group("g", "q", {"toEnd": True})
    await a.seek_consumer_group("g", "q", {"partition": "p2"})
    await a.get_system_metrics(worker_id=3)
    await a.set_pop_maintenance_mode(True)
    sent = [(r.method, r.path, r.body) for r in host.sent]
    assert sent == [
        ("GET", "/api/v1/messages?queue=q&ns=ns&status=pending&limit=5&from=yesterday", None),
        ("GET", "/api/v1/consumer-groups/lagging?minLagSeconds=60", None),
        ("DELETE", "/api/v1/consumer-groups/g/queues/q?deleteMetadata=false", None),
        ("POST", "/api/v1/consumer-groups/g/queues/q/seek", b'{"toEnd":true}'),
        ("POST", "/api/v1/consumer-groups/g/queues/q/partitions/p2/seek", None),
        ("GET", "/api/v1/analytics/system-metrics?workerId=3", None),
        ("POST", "/api/v1/system/maintenance/pop", b'{"enabled":true}'),
    ]


@pytest.mark.parametrize("call", [
    lambda a: a.list_queues(bogus=1),
    lambda a: a.list_messages(status="done"),
    lambda a: a.list_messages(limit=-1),
    lambda a: a.list_messages(limit=True),
    lambda a: a.list_messages(queue=""),
    lambda a: a.list_messages(**{"from": 12}),
    lambda a: a.get_queue("a/b"),
    lambda a: a.get_queue(""),
    lambda a: a.get_message("not-a-uuid", "t"),
    lambda a: a.get_message(PID, "a/b"),
    lambda a: a.delete_message(PID, ""),
    lambda a: a.get_traces_by_name("x", page=2),
    lambda a: a.get_traces_for_message("nope", "t"),
    lambda a: a.get_lagging_consumers("abc"),
    lambda a: a.get_lagging_consumers(-1),
    lambda a: a.delete_consumer_group_for_queue("g", "q", delete_metadata="yes"),
    lambda a: a.get_status(queues="x"),
    lambda a: a.get_analytics(interval=None, bogus=2),
    lambda a: a.get_partitions(page=1),
    lambda a: a.get_queue_depth("q", group="a b"),
    lambda a: a.set_maintenance_mode("on"),
])
async def test_bad_arguments_send_nothing(host: FakeHost, call: Any) -> None:
    with pytest.raises(QueenValidationError):
        await call(Admin(host))
    assert host.sent == []


@pytest.mark.parametrize("version", GENS)
async def test_recorded_not_found_answers_are_none(version: str) -> None:
    host = FakeHost(GENS[version])
    a = Admin(host)
    host.answers = [step(version, 23), step(version, 41), step(version, 52), step(version, 71)]
    assert await a.get_queue("adm-missing") is None
    assert await a.get_message(PID, "no-such-tx") is None
    assert await a.get_queue_detail("adm-missing") is None
    assert await a.get_consumer_group("adm-no-such-group") is None


@pytest.mark.parametrize("version", GENS)
async def test_recorded_lists_are_normalised(version: str) -> None:
    host = FakeHost(GENS[version])
    a = Admin(host)
    host.answers = [step(version, 21), step(version, 68), step(version, 66)]
    queues = {q["name"]: q for q in (await a.list_queues())["queues"]}
    assert queues["adm-dlq"]["namespace"] is None and queues["adm-dlq"]["task"] is None
    assert await a.get_lagging_consumers(3600) == []  # 0.15: null, 0.7: []
    groups = await a.list_consumer_groups()
    if version == "0.15.1":
        assert all(g["totalLag"] is None for g in groups)
        assert [g["partitionsWithLag"] for g in groups] == [0, 1, 1, 1]
    else:
        assert all(g["partitionsWithLag"] is None for g in groups)


@pytest.mark.parametrize("version", GENS)
async def test_recorded_trace_pages_have_one_shape(version: str) -> None:
    host = FakeHost(GENS[version])
    a = Admin(host)
    host.answers = [step(version, 86), step(version, 88), step(version, 89)]
    page = await a.get_traces_by_name("adm-order-flow", limit=1)
    assert (page["count"], page["total"], page["limit"], page["offset"]) == (1, 2, 1, 0)
    assert len(page["traces"]) == 1  # 0.15.1 sent both: cut here
    names = await a.get_trace_names()
    assert names["total"] == 2 and names["count"] == 2 and names["limit"] == 50
    of = await a.get_traces_for_message(PID, "t")
    assert of["count"] == 2
    if version == "0.15.1":  # 0.15 is asked for everything, then paged here
        assert host.sent[0].path == "/api/v1/traces/by-name/adm-order-flow"


async def test_recorded_delete_twice_on_015() -> None:
    host = FakeHost("0.15")
    host.answers = [step("0.15.1", 43), step("0.15.1", 45)]
    a = Admin(host)
    assert (await a.delete_message(PID, "t"))["success"] is True
    again = await a.delete_message(PID, "t")
    assert again["success"] is False and again["message"] == "Message not found"


async def test_07_delete_asks_first_because_it_always_says_deleted() -> None:
    host = FakeHost("0.7")
    host.answers = [step("0.7.5", 44)]  # GET: Message not found
    out = await Admin(host).delete_message(PID, "t")
    assert out["success"] is False
    assert [r.method for r in host.sent] == ["GET"]  # the DELETE was not sent


@pytest.mark.parametrize(("index", "kind"), [(59, QueenServerFeatureError),
                                             (72, QueenServerFeatureError)])
async def test_recorded_07_missing_routes(index: int, kind: type) -> None:
    host = FakeHost("0.7")
    host.answers = [step("0.7.5", index)]
    with pytest.raises(kind):
        await Admin(host).get_worker_metrics()


async def test_recorded_015_errors_raise() -> None:
    host = FakeHost("0.15")
    host.answers = [step("0.15.1", 78), step("0.15.1", 80)]
    a = Admin(host)
    with pytest.raises(QueenHTTPError, match="invalid input syntax for type timestamp"):
        await a.seek_consumer_group("adm-g1", "adm-orders", {"timestamp": "not-a-time"})
    with pytest.raises(QueenHTTPError, match="Partition not found"):
        await a.seek_consumer_group("adm-g1", "adm-orders", {"partition": "nope"})


async def test_recorded_partition_seek_has_the_queue_seek_shape() -> None:
    host = FakeHost("0.15")
    host.answers = [step("0.15.1", 79)]
    out = await Admin(host).seek_consumer_group("adm-g1", "adm-orders", {"partition": "p2"})
    assert out["partitionsUpdated"] == 1 and out["seekToEnd"] is True
    assert out["partitionName"] == "p2"


async def test_prometheus_text(host: FakeHost) -> None:
    host.answers = [(200, "# TYPE queen_up gauge\nqueen_up 1\n")]
    assert (await Admin(host).metrics_text()).startswith("# TYPE")


