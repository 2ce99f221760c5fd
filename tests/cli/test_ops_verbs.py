"""The operator verbs through the real ``queen`` entry point, in a subprocess, on both
personalities (or QUEEN_URL): tables for people, --json/--ndjson for scripts, exit
codes 0 (ok), 1 (the server said no) and 2 (usage)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any, List

import orjson
import pytest

from admin.conftest import World
from queen import Queen

from .conftest import Run, queen_command


def test_queues_table_and_json(cli: Run, world: World) -> None:
    table = cli("queues", "--namespace", world.ns)
    assert table.code == 0, table
    assert world.orders in table.out and world.events in table.out
    assert world.dead not in table.out
    assert "pending" in table.out.splitlines()[1]  # header row under the blank title row
    doc = cli("queues", "--json").json()
    rows = {q["name"]: q for q in doc["queues"]}
    assert rows[world.orders]["messages"]["total"] == 6
    lines = cli("queues", "--ndjson", "--task", world.audit).ndjson()
    assert [r["name"] for r in lines] == [world.events]


def test_queue_shows_partitions_or_says_not_found(cli: Run, world: World) -> None:
    r = cli("queue", world.orders)
    assert r.code == 0, r
    for name in ("p1", "p2", "p3", "leaseTime=30"):
        assert name in r.out
    doc = cli("queue", world.orders, "--json").json()
    assert doc["config"]["leaseTime"] == 30
    missing = cli("queue", world.orders + "-missing")
    assert missing.code == 1 and "not found" in missing.err


def test_groups_and_lag(cli: Run, world: World) -> None:
    rows = cli("groups", "--ndjson", "--queue", world.orders, "--no-queue-mode").ndjson()
    assert [(r["name"], r["queueName"]) for r in rows] == [(world.group, world.orders)]
    assert world.group in cli("groups", "--queue", world.orders).out
    deadline = time.monotonic() + 20
    while True:  # lag is counted in whole seconds
        lag = cli("lag", "--min-seconds", "1", "--json")
        assert lag.code == 0, lag
        ours = [r for r in lag.json() if r["consumer_group"] == world.group]
        if ours or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [(r["partition_name"], r["offset_lag"]) for r in ours] == [("p1", 1)]


def test_seek(cli: Run, world: World) -> None:
    r = cli("seek", world.group, world.orders, "--to-end", "--json")
    if not world.v15:
        assert r.code == 1 and "not available on Queen 0.7" in r.err
        return
    assert r.code == 0, r
    assert r.json()["partitionsUpdated"] == 1
    r = cli("seek", world.group, world.orders, "--to", "2000-01-01T00:00:00Z")
    assert r.code == 0 and "partitionsUpdated" in r.out
    bad = cli("seek", world.group, world.orders, "--to", "not-a-time")
    assert bad.code == 1 and "timestamp" in bad.err
    part = cli("seek", world.group, world.orders, "--to-end", "--partition", "p1", "--json")
    assert part.code == 0 and part.json()["partitionName"] == "p1"


def test_seek_usage_errors(cli: Run) -> None:
    assert cli("seek", "g", "q").code == 2  # neither --to-end nor --to
    assert cli("seek", "g", "q", "--to-end", "--to", "x").code == 2
    both = cli("seek", "g", "q", "--to", "yesterday", "--partition", "p1")
    assert both.code == 2 and "partition" in both.err


def test_messages_and_dlq(cli: Run, world: World) -> None:
    rows = cli("messages", world.orders, "--partition", "p2", "--ndjson").ndjson()
    assert len(rows) == 2 and {r["status"] for r in rows} == {"pending"}
    table = cli("messages", world.orders, "--status", "pending")
    assert table.code == 0 and "p2" in table.out
    assert cli("messages", world.orders, "--status", "bogus").code == 2
    dlq = cli("dlq", world.dead, "--json")
    assert dlq.code == 0, dlq
    assert dlq.json()["total"] == 1
    assert dlq.json()["messages"][0]["errorMessage"] == "poison failure 2"
    assert "poison failure 2" in cli("dlq", world.dead).out


def test_traces(cli: Run, world: World) -> None:
    doc = cli("traces", world.trace, "--json").json()
    assert doc["count"] == 2 and doc["total"] == 2
    one = cli("traces", world.trace, "--limit", "1", "--ndjson").ndjson()
    assert len(one) == 1 and one[0]["queue_name"] == world.orders
    assert "2 of 2 trace event(s)" in cli("traces", world.trace).out


def test_push_from_arguments_stdin_and_items(cli: Run, world: World) -> None:
    r = cli("push", world.events, '{"k": 1}', '"text"', "--json")
    assert r.code == 0, r
    assert [x["status"] for x in r.json()] == ["queued", "queued"]
    nd = cli("push", world.events, "--partition", "px", "--ndjson",
             stdin='{"k": 2}\n\n[3]\n')
    assert nd.code == 0 and len(nd.ndjson()) == 2
    arr = cli("push", world.events, "--json", stdin='[{"k": 4}, 5]')
    assert len(arr.json()) == 2
    items = cli("push", world.events, "--items", "--json",
                stdin=orjson.dumps({"data": {"k": 6},
                                    "transactionId": f"cli-tx-{world.group}"}).decode())
    assert items.json()[0]["transactionId"] == f"cli-tx-{world.group}"
    assert cli("push", world.events, "{not json").code == 2
    assert cli("push", world.events, stdin="").code == 2
    table = cli("push", world.events, '{"k": 7}')
    assert table.code == 0 and "queued" in table.out


async def test_pushed_messages_arrive(cli: Run, queen: Queen, world: World) -> None:
    assert cli("push", world.dead, '{"n": 1}', '{"n": 2}').code == 0
    got = await queen.queue(world.dead).batch(10).pop()
    assert [m["data"] for m in got] == [{"n": 1}, {"n": 2}]
    await queen.ack(got, True)


def _tail(queen_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*queen_command(), "tail", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "QUEEN_URL": queen_url})


async def test_tail_follows_new_messages(queen: Queen, queen_url: str, world: World) -> None:
    proc = _tail(queen_url, world.events, "--limit", "2", "--ndjson")
    try:
        assert proc.stderr is not None and proc.stdout is not None
        line = proc.stderr.readline()  # printed once subscribed
        assert "following" in line, line + proc.stderr.read()
        await queen.queue(world.events).push([{"data": {"live": 1}}, {"data": {"live": 2}}])
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    rows: List[Any] = [orjson.loads(x) for x in out.splitlines()]
    assert [r["data"] for r in rows] == [{"live": 1}, {"live": 2}]  # not the old backlog
    groups = [g["name"] for g in await queen.admin.list_consumer_groups()]
    assert not [g for g in groups if g.startswith("queen-tail-")]  # its group is gone


async def test_tail_as_a_group_moves_it(queen: Queen, queen_url: str, world: World) -> None:
    proc = _tail(queen_url, world.orders, "--group", world.group, "--partition", "p1",
                 "--limit", "1")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert '{"order":3}' in out.replace(" ", "")  # the one message g had not read
    detail = await queen.admin.get_consumer_group(world.group)
    assert detail is not None
    p1 = [p for p in detail[world.orders]["partitions"] if p["partition"] == "p1"]
    assert p1[0]["totalConsumed"] == 3


def test_health_and_metrics(cli: Run, generation: str) -> None:
    h = cli("health")
    assert h.code == 0 and "healthy" in h.out
    assert cli("health", "--json").json()["database"] == "connected"
    m = cli("metrics", "--json")
    assert m.code == 0 and "uptime" in m.json()
    assert "requests.total" in cli("metrics").out
    prom = cli("metrics", "--prometheus")
    if generation == "0.15":
        assert prom.code == 0 and "# TYPE" in prom.out
    else:
        assert prom.code == 1 and "Prometheus" in prom.err


def test_maintenance_status(cli: Run, generation: str) -> None:
    st = cli("maintenance", "status", "--json")
    assert st.code == 0, st
    assert st.json()["push"]["maintenanceMode"] in (True, False)
    pop = cli("maintenance", "status", "--pop")
    assert pop.code == (0 if generation == "0.15" else 1), pop


def test_maintenance_switches(cli: Run, world: World) -> None:
    if world.real and os.environ.get("QUEEN_ADMIN_MAINTENANCE") != "1":
        pytest.skip("maintenance is server-wide: not switched on a shared real server")
    args = ["--all"] if world.v15 else []
    on = cli("maintenance", "on", *args, "--json")
    try:
        assert on.code == 0, on
        assert on.json()["push"]["maintenanceMode"] is True
        if world.v15:
            assert on.json()["pop"]["popMaintenanceMode"] is True
        shown = cli("maintenance", "status", *args)
        assert "True" in shown.out
    finally:
        off = cli("maintenance", "off", *args, "--json")
    assert off.code == 0 and off.json()["push"]["maintenanceMode"] is False


def test_exit_codes_for_usage_and_unreachable_servers(cli: Run) -> None:
    assert cli("queue").code == 2  # missing NAME
    assert cli("lag", "--min-seconds", "x").code == 2
    down = cli("health", "--url", "http://127.0.0.1:9")
    assert down.code == 1 and "could not" in down.err


def test_the_bearer_token_comes_from_the_environment(cli: Run) -> None:
    """QUEEN_TOKEN travels as ``Authorization: Bearer ...`` (checked by a stub server)."""
    import http.server
    import threading

    seen: List[str] = []

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.headers.get("Authorization", ""))
            body = b'{"status":"healthy","database":"connected","server":"stub"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        r = cli("health", "--url", url, env={"QUEEN_TOKEN": "s3cret"})
    finally:
        server.shutdown()
    assert r.code == 0, r
    assert seen and all(h == "Bearer s3cret" for h in seen)
