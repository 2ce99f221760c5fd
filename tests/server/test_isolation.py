"""The embedded server is the other side of the wire: loading it must not load the
client (not even ``queen.wire``), so one misreading of the protocol cannot hide
itself on both sides.  Only ``queen``, ``queen._core*`` and ``queen.testing*`` may
appear in ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import List, Tuple

import pytest

ALLOWED = ("queen._core", "queen.testing")
CLIENT = ("queen.client", "queen.wire", "queen.http", "queen.builders", "queen.buffer",
          "queen.consumer", "queen.stream")

REPORT = "import json, sys; print(json.dumps(sorted(m for m in sys.modules if m.startswith('queen'))))"


def run(code: str) -> Tuple[str, List[str]]:
    """Run ``code`` in a fresh interpreter: its output and the queen modules it loaded."""
    proc = subprocess.run([sys.executable, "-c", code + "\n" + REPORT], capture_output=True,
                          text=True, timeout=120, check=True)
    *shown, last = proc.stdout.strip().splitlines()
    names: List[str] = json.loads(last)
    return "\n".join(shown), names


def loaded(code: str) -> List[str]:
    return run(code)[1]


def foreign(names: List[str]) -> List[str]:
    return [n for n in names if n != "queen" and not any(
        n == a or n.startswith(a + ".") for a in ALLOWED)]


@pytest.mark.parametrize("module", ["queen.testing", "queen.testing.broker", "queen.testing.app",
                                    "queen.testing.plugin", "queen.testing.admin",
                                    "queen.testing.streams", "queen.testing.rules07",
                                    "queen.testing.rules15"])
def test_importing_the_server_loads_no_client_module(module: str) -> None:
    names = loaded(f"import {module}")
    assert module in names  # the import did happen
    assert foreign(names) == []


def test_cli_help_loads_no_client_module() -> None:
    shown, names = run("import runpy, sys\n"
                   "sys.argv = ['queen.testing', '--help']\n"
                   "try:\n"
                   "    runpy.run_module('queen.testing', run_name='__main__', alter_sys=True)\n"
                   "except SystemExit:\n"
                   "    pass")
    assert "--compat" in shown  # the help was printed
    assert foreign(names) == []


def test_a_served_app_loads_no_client_module() -> None:
    """Building both generations' apps (every area module) stays client-free too."""
    names = loaded("from queen.testing import Broker, make_app\n"
                   "for c in ('0.7', '0.15'):\n"
                   "    make_app(Broker(c))")
    assert "queen.testing.admin" in names and "queen.testing.rules15" in names
    assert foreign(names) == []


def test_the_check_sees_a_client_import() -> None:
    """The check itself can fail: importing the client shows up as foreign."""
    names = loaded("import queen.testing, queen.wire")
    assert any(n.startswith(CLIENT) for n in foreign(names))
