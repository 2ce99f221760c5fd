"""Reading the on/off environment variables of the compiled core (``QUEEN_NO_EXTENSIONS``,
``QUEEN_EXPECT_COMPILED``): one rule for the build (setup.py loads this file by path),
the import-time choice and the tests. Standard library only."""

from __future__ import annotations

import os

__all__ = ["env_flag"]

# what "off" looks like; anything else (e.g. "1", "yes", "true") is on
_OFF = frozenset({"", "0", "false", "no", "off"})


def env_flag(name: str) -> bool:
    """True when the variable ``name`` is set to something other than "", "0", "false",
    "no" or "off" (case and surrounding blanks ignored)."""
    return os.environ.get(name, "").strip().lower() not in _OFF
