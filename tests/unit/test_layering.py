"""The package's shape: nobody reaches into another object's private members, and
imports flow one way (the import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Set, Tuple

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "queen"

# Modules that may touch private members of objects they own: the client builds the
# seam's host, and http/ is one tight unit (a pool and its connections).
OWNERS = ("client.py", "http/")
# The embedded server is the other side of the wire, kept apart by the import
# contracts; the compiled core has no objects of ours to reach into.
NOT_CLIENT = ("testing/", "_core/")

# (module, expression): each with the reason it must stay.
ALLOWED: Set[Tuple[str, str]] = {
    # TransactionQueue is TransactionBuilder's own helper for .queue(q).push(...),
    # defined beside it: it appends to the builder's operation list.
    ("builders/transaction.py", "self._tx._ops"),
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
