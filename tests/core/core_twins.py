"""Loading the twins of ``queen._core`` for tests.

A missing compiled twin FAILS (multidict/propcache style): a build that silently lost
its extensions must not pass as compiled. The pure run opts out with
``QUEEN_NO_EXTENSIONS=1``: there a missing compiled twin is skipped.
``QUEEN_EXPECT_COMPILED=1`` (still accepted) makes it a failure even then.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Optional, Tuple

import pytest

import queen._core as core_pkg
from queen._core._flags import env_flag


def compiled_required() -> bool:
    """True unless the run opted out of the compiled core (QUEEN_NO_EXTENSIONS)."""
    return env_flag("QUEEN_EXPECT_COMPILED") or not env_flag("QUEEN_NO_EXTENSIONS")


def _compiled() -> Tuple[Optional[SimpleNamespace], str]:
    try:
        return core_pkg.load(pure=False), ""
    except ImportError as e:
        return None, str(e)


def compiled_or_skip() -> SimpleNamespace:
    ns, why = _compiled()
    if ns is None:
        if compiled_required():
            pytest.fail(f"the compiled core is missing ({why}): build it "
                        "(pip install -e . with Cython and a C compiler), or run the pure "
                        "twins alone with QUEEN_NO_EXTENSIONS=1")
        pytest.skip(f"compiled core not built: {why}")
    return ns
