"""The admin tests' world (three queues, a lagging group, a DLQ entry, traces) for the
CLI tests, and a runner for the real ``queen`` entry point in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import orjson
import pytest

from admin.conftest import World, generation, world  # noqa: F401  (fixtures)


def queen_command() -> List[str]:
    """The installed console script beside this interpreter (else ``python -m queen``)."""
    script = Path(sys.executable).with_name("queen")
    found = str(script) if script.exists() else shutil.which("queen")
    return [found] if found else [sys.executable, "-m", "queen"]


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> Any:
        return orjson.loads(self.out)

    def ndjson(self) -> List[Any]:
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout: {self.out}\nstderr: {self.err}>"


Run = Callable[..., Result]


@pytest.fixture
def cli(queen_url: str) -> Run:
    """``cli('queues', '--json')`` runs ``queen queues --json`` against the test server
    (through ``QUEEN_URL``, as an operator would)."""

    def run(*args: str, stdin: Optional[str] = None, env: Optional[Dict[str, str]] = None,
            timeout: float = 60) -> Result:
        full = {**os.environ, "QUEEN_URL": queen_url, **(env or {})}
        proc = subprocess.run([*queen_command(), *args], input=stdin, capture_output=True,
                              text=True, timeout=timeout, env=full)
        return Result(proc)

    return run
