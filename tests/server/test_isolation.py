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


NEUTRAL = ("model.py", "broker.py", "app.py", "admin.py", "admin_views.py", "streams.py")


def generation_tests(source: str) -> List[str]:
    """Comparisons that test the generation by name: against "0.7"/"0.15", or of a
    ``compat``/``v15``/``rules.name`` value."""
    import ast

    def is_generation(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant) and node.value in ("0.7", "0.15"):
            return True
        if isinstance(node, ast.Name) and node.id in ("compat", "v15"):
            return True
        return isinstance(node, ast.Attribute) and node.attr in ("compat", "v15", "name") and (
            node.attr != "name" or (isinstance(node.value, ast.Attribute)
                                    and node.value.attr == "rules"))

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(
                is_generation(n) for n in [node.left, *node.comparators]):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, (ast.Name, ast.Attribute)) and getattr(
                node, "id", getattr(node, "attr", None)) == "v15":
            found.append(f"line {node.lineno}: v15")
    return found


@pytest.mark.parametrize("name", NEUTRAL)
def test_generation_neutral_modules_do_not_branch_on_the_generation(name: str) -> None:
    """What differs between generations lives in rules07.py / rules15.py only."""
    from pathlib import Path

    import queen.testing

    source = (Path(queen.testing.__file__).parent / name).read_text()
    assert generation_tests(source) == []


def test_the_branch_check_sees_a_branch() -> None:
    assert generation_tests("if self.v15:\n    pass\nok = compat == '0.15'\n") != []
    assert len(generation_tests("x = b.rules.name == '0.7'")) == 1
