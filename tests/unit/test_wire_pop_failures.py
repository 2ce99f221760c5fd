"""What a pop reply carrying an error means: the wire decides (the kernel hands the reply
back). 0.15.x answers "nothing to deliver" with success=false and one of three error
texts; any other error raises with the server's text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from queen import wire
from queen.errors import QueenHTTPError


@dataclass
class Reply:
    status: int
    body: bytes
    method: str = "GET"
    url: str = "/api/v1/pop/queue/q"


@pytest.mark.parametrize("error", sorted(wire.core.POP_NOTHING_ERRORS))
def test_nothing_to_deliver_is_an_empty_list(error: str) -> None:
    body = b'{"error":"%s","messages":[],"success":false}' % error.encode()
    assert wire.parse_pop(Reply(200, body), wire.GEN_015) == []


@pytest.mark.parametrize(("body", "text"), [
    (b'{"error": "Queue not found"}', "Queue not found"),
    (b'{"error": "ERROR:  LIMIT must not be negative", "success": false}',
     "ERROR:  LIMIT must not be negative"),
    (b'{"error": {"code": 1, "a": [2]}}', '{"a":[2],"code":1}'),
    (b'{"error": 42}', "42"),
    (b'{"success": false}', "pop failed: the server answered success=false without an error text"),
])
def test_other_errors_raise_with_the_server_text(body: bytes, text: str) -> None:
    with pytest.raises(QueenHTTPError) as info:
        wire.parse_pop(Reply(200, body), wire.GEN_015)
    assert text in str(info.value)


def test_an_empty_error_text_reads_as_no_messages_unless_the_status_failed() -> None:
    assert wire.parse_pop(Reply(200, b'{"error": ""}'), wire.GEN_015) == []
    with pytest.raises(QueenHTTPError):
        wire.parse_pop(Reply(500, b'{"error": ""}'), wire.GEN_015)


def test_the_protocol_strings_live_in_the_wire_not_in_the_kernels() -> None:
    from pathlib import Path

    import queen._core

    core = Path(queen._core.__file__).parent
    for path in [*core.glob("_pop*"), *core.glob("_ack*")]:
        if path.suffix in (".py", ".pyx"):
            text = path.read_text(encoding="utf-8")
            for word in (*wire.core.POP_NOTHING_ERRORS, wire.QUEUE_MODE):
                assert word not in text, f"{word} in {path.name}"
