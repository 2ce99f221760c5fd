"""The package's shape: nobody reaches into another object's private members, and
imports flow one way (the import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "queen"

# Modules that may touch private members of objects they own: the client builds the
# seam's host, and http/ is one tight unit (a pool and its connections).
OWNERS = ("client.py", "http/")
# The embedded server is the other side of the wire, kept apart by the import
# contracts (its own internals are its owners' business).
NOT_CLIENT = ("testing/",)

# (module, expression): each with the reason it must stay.
ALLOWED: Set[Tuple[str, str]] = {
    # TransactionQueue is TransactionBuilder's own helper for .queue(q).push(...),
    # defined beside it: it appends to the builder's operation list.
    ("builders/transaction.py", "self._tx._ops"),
    # ... and records which partitions it pushes to (0.7 write ordering, queen.writes).
    ("builders/transaction.py", "self._tx._targets"),
}


def scan(source: str) -> List[Tuple[int, str]]:
    """Every ``X._name`` (not a dunder) in ``source`` where X is not ``self``/``cls``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__"):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return found


def private_accesses() -> List[Tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith(OWNERS + NOT_CLIENT):
            found += [(rel, line, expr) for line, expr in scan(path.read_text(encoding="utf-8"))]
    return found


def test_no_module_reaches_into_private_members() -> None:
    new = [f"{rel}:{line}: {expr}" for rel, line, expr in private_accesses()
           if (rel, expr) not in ALLOWED]
    assert not new, (
        "private members used from outside their object (go through seam.Host or a "
        "public name, or allow-list it here with the reason):\n" + "\n".join(new)
    )


def test_the_allow_list_has_no_stale_entries() -> None:
    seen = {(rel, expr) for rel, _, expr in private_accesses()}
    assert ALLOWED <= seen, f"allowed but no longer used: {sorted(ALLOWED - seen)}"


def test_the_scan_finds_reaches_and_spares_own_members() -> None:
    source = (
        "class A:\n"
        "    def f(self, queen):\n"
        "        self._mine = queen._transport\n"
        "        return cls._x, self.__dict__, queen.host._buffers.put, wire.base._q\n"
    )
    assert sorted(scan(source)) == [(3, "queen._transport"), (4, "queen.host._buffers"),
                                    (4, "wire.base._q")]


def test_layering_contracts_hold() -> None:
    """The import-linter contracts of pyproject.toml (also run by scripts/test.sh)."""
    pytest.importorskip("importlinter", reason="import-linter is in the 'test' extra")
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import "
                          "lint_imports_command; sys.exit(lint_imports_command())",
                          "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_only_the_top_imports_the_face() -> None:
    """``queen/__init__`` (the face) sits above the client: nothing of the client
    side imports it, so importing a submodule never drags the whole client in."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter")
    graph = grimp.build_graph("queen")
    top = ("queen.__main__", "queen.cli", "queen.bench", "queen.demo", "queen.testing.plugin")
    importers = {m for m in graph.find_modules_that_directly_import("queen")
                 if not m.startswith(top)}
    assert not importers, f"modules below the face import it: {sorted(importers)}"
