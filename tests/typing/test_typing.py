"""The typed example must pass ``mypy --strict`` against the installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent


def test_example_type_checks() -> None:
    out, err, status = api.run([
        "--strict", "--no-incremental", "--follow-imports=silent",
        "--config-file", "/dev/null", str(HERE / "example.py"),
    ])
    assert status == 0, out + err


def test_mistakes_are_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from queen import Queen\n"
        "async def f(q: Queen) -> None:\n"
        "    n: int = (await q.queue('x').pop())[0]['data']['x'] + q.queue(3)\n"
        "    await q.ack(1, True)\n"
    )
    out, _err, status = api.run([
        "--strict", "--no-incremental", "--follow-imports=silent", "--config-file", "/dev/null",
        str(bad),
    ])
    assert status != 0
    assert "queue" in out and "ack" in out
