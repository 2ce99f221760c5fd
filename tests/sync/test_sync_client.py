"""``queen.sync``: the async API without ``await``, end to end over HTTP on the embedded
server (both personalities) or the server at ``QUEEN_URL``."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, Iterator, List

import pytest

from queen import QueenConnectionError, QueenValidationError
from queen.sync import Queen

Names = Callable[[str], str]


@pytest.fixture
def queen(queen_url: str) -> Iterator[Queen]:
    with Queen(queen_url) as client:
        yield client


@pytest.fixture
def make_queue(queen: Queen, unique_name: Names) -> Iterator[Callable[..., str]]:
    made: List[str] = []

    def make(prefix: str = "sync", **options: Any) -> str:
        name = unique_name(prefix)
        queen.queue(name).config({"leaseTime": 30, **options}).create()
        made.append(name)
        return name

    yield make
    for name in made:
        queen.queue(name).delete()


def test_push_then_consume_one(queen: Queen, make_queue: Callable[..., str]) -> None:
    name = make_queue()
    results = queen.queue(name).push([{"data": {"task": "send-email"}}])
    assert [r["status"] for r in results] == ["queued"]
    seen: List[Dict[str, Any]] = []
    queen.queue(name).limit(1).consume(lambda message: seen.append(message["data"]))
    assert seen == [{"task": "send-email"}]
    assert queen.queue(name).pop() == []  # acked when the handler returned


def test_pop_and_ack_a_batch_in_order(queen: Queen, make_queue: Callable[..., str]) -> None:
    name = make_queue()
    queen.queue(name).push([{"data": {"n": n}} for n in range(5)])
    batch = queen.queue(name).batch(5).pop()
    assert [m["data"]["n"] for m in batch] == [0, 1, 2, 3, 4]
    acked = queen.ack(batch, True)
    assert all(a["success"] for a in acked)
    assert queen.queue(name).batch(5).pop() == []


def test_consumer_groups_each_get_every_message(queen: Queen, make_queue: Callable[..., str]
                                                ) -> None:
    name = make_queue()
    queen.queue(name).push([{"data": {"n": n}} for n in range(3)])
    got: Dict[str, List[int]] = {"billing": [], "audit": []}
    for group, numbers in got.items():
        queen.queue(name).group(group).limit(3).consume(lambda m, ns=numbers: ns.append(m["data"]["n"]))
    assert {g: sorted(ns) for g, ns in got.items()} == {"billing": [0, 1, 2], "audit": [0, 1, 2]}


def test_a_failing_handler_gets_the_message_again(queen: Queen, make_queue: Callable[..., str]
                                                  ) -> None:
    name = make_queue(retryLimit=3)
    queen.queue(name).push([{"data": {"n": 1}}])
    calls: List[int] = []
    errors: List[str] = []

    def handler(message: Dict[str, Any]) -> None:
        calls.append(message["data"]["n"])
        if len(calls) == 1:
            raise RuntimeError("first try fails")

    queen.queue(name).limit(2).consume(handler)  # nacked when it raised, then retried
    assert calls == [1, 1]

    # with on_error (a plain function, as upstream's: callbacks turn auto-ack off) the
    # callback decides: here it nacks, from a worker thread, through the same client
    queen.queue(name).push([{"data": {"n": 2}}])
    calls.clear()

    def nack(message: Dict[str, Any], error: BaseException) -> None:
        errors.append(str(error))
        queen.ack(message, False)

    queen.queue(name).limit(2).consume(handler, on_error=nack,
                                       on_success=lambda m, result: queen.ack(m, True))
    assert calls == [2, 2]
    assert errors == ["first try fails"]


def test_transaction_acks_and_pushes_together(queen: Queen, make_queue: Callable[..., str]
                                              ) -> None:
    source, target = make_queue("src"), make_queue("dst")
    queen.queue(source).push([{"data": {"order": 7}}])
    [message] = queen.queue(source).pop()
    result = (queen.transaction()
              .ack(message)
              .queue(target).push([{"data": {"order": 7, "state": "processed"}}])
              .commit())
    assert result.get("success", True) is not False
    assert queen.queue(source).pop() == []
    [moved] = queen.queue(target).pop()
    assert moved["data"] == {"order": 7, "state": "processed"}


def test_buffered_messages_are_flushed_on_close(queen_url: str, make_queue: Callable[..., str],
                                                queen: Queen) -> None:
    name = make_queue()
    with Queen(queen_url) as producer:
        buffered = producer.queue(name).buffer({"message_count": 1000, "time_millis": 60000})
        for n in range(10):
            [result] = buffered.push([{"data": {"n": n}}])
            assert result["status"] == "buffered"
        assert producer.get_buffer_stats()["totalBufferedMessages"] == 10
    assert producer.closed
    assert [m["data"]["n"] for m in queen.queue(name).batch(10).pop()] == list(range(10))


def test_push_callbacks_run_as_plain_functions(queen: Queen, make_queue: Callable[..., str]
                                               ) -> None:
    name = make_queue()
    stored: List[Any] = []
    queen.queue(name).push([{"data": 1}], on_success=lambda messages: stored.extend(messages))
    assert [m["data"] for m in stored] == [1]


def test_trace_is_a_blocking_call(queen: Queen, make_queue: Callable[..., str]) -> None:
    name = make_queue()
    queen.queue(name).push([{"data": 1}])
    [message] = queen.queue(name).pop()
    answer = message["trace"]({"traceName": "step", "data": {"ok": True}})
    assert isinstance(answer, dict)
    queen.ack(message, True)


def test_many_threads_share_one_client(queen: Queen, make_queue: Callable[..., str]) -> None:
    """8 producer threads on one client, then a 4-thread consume whose handler uses the
    same client: every message delivered once, nothing lost."""
    name, echo = make_queue("mt"), make_queue("echo")
    errors: List[BaseException] = []

    def produce(worker: int) -> None:
        try:
            for n in range(25):
                queen.queue(name).partition(f"p{worker % 4}").push(
                    [{"data": {"id": f"{worker}-{n}"}}])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    seen: Counter[str] = Counter()
    lock = threading.Lock()
    handler_threads = set()
    all_in = threading.Event()

    def handler(message: Dict[str, Any]) -> None:
        queen.queue(echo).push([{"data": message["data"]}])  # the client, from a handler
        with lock:
            seen[message["data"]["id"]] += 1
            handler_threads.add(threading.get_ident())
            if sum(seen.values()) >= 200:
                all_in.set()

    # limit() counts per worker (as upstream's): stop on the total with a signal instead
    queen.queue(name).concurrency(4).consume(handler, signal=all_in)
    assert sorted(seen) == sorted(f"{w}-{n}" for w in range(8) for n in range(25))
    assert set(seen.values()) == {1}
    assert threading.get_ident() not in handler_threads
    echoed = queen.queue(echo).batch(500).pop()
    assert len(echoed) == 200


def test_a_threading_event_stops_a_consume(queen: Queen, make_queue: Callable[..., str]) -> None:
    name = make_queue()
    stop = threading.Event()
    done = threading.Event()
    got: List[int] = []

    def run() -> None:
        queen.queue(name).timeout_millis(1000).consume(
            lambda m: (got.append(m["data"]), stop.set()), signal=stop)
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    queen.queue(name).push([{"data": 1}])
    assert done.wait(30), "consume did not end after the signal"
    worker.join()
    assert got == [1]


def test_bad_input_raises_in_the_callers_thread(queen: Queen, queen_url: str) -> None:
    with pytest.raises(QueenValidationError):
        Queen({"url": queen_url, "no_such_option": 1})
    with pytest.raises(QueenValidationError):
        queen.queue("bad/name")
    with pytest.raises(QueenValidationError):
        queen.queue("x").push("not a list")
    with pytest.raises(QueenValidationError):
        queen.queue("x").consume("not a function")


def test_close_is_idempotent_and_final(queen_url: str) -> None:
    client = Queen(queen_url)
    client.close()
    client.close()
    assert client.closed
    with pytest.raises(QueenConnectionError, match="closed"):
        client.queue("x").pop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_worker_gets_its_own_loop(queen: Queen, make_queue: Callable[..., str]) -> None:
    """A client made before fork() (a Celery or gunicorn worker) works in the child."""
    name = make_queue()
    queen.queue(name).push([{"data": "parent"}])  # the loop thread is running now
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            [result] = queen.queue(name).push([{"data": "child"}])
            queen.close()
            code = 0 if result["status"] == "queued" else 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung")
        time.sleep(0.02)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert sorted(m["data"] for m in queen.queue(name).batch(10).pop()) == ["child", "parent"]
