"""Compiled kernels with pure-Python twins.

Each kernel ``X`` lives in ``_X.pyx`` (compiled) and ``_X_py.py`` (pure), with the
same public names and behaviour. The compiled twin is used unless
``QUEEN_NO_EXTENSIONS`` is set (to anything but ""/"0") or it failed to build.
``COMPILED`` tells which is active. This package imports nothing from the rest of
``queen``: errors are raised as TypeError/ValueError and translated by callers.
"""

from __future__ import annotations

import importlib
import os
from types import SimpleNamespace
from typing import TYPE_CHECKING, Literal

__all__ = [
    "COMPILED",
    "IMPL",
    "load",
    "uuid7",
    "is_uuid",
    "fnv1a32",
    "mix32",
    "HashRing",
    "encode_push_items",
    "join_items",
    "encode_push",
    "PushBuffer",
    "push_all_stored",
    "parse_pop",
    "ack_items",
    "ack_results",
    "MISSING",
    "get_path",
    "window_filter",
    "window_group_by",
    "window_aggregate",
]

# kernel module -> the public names it provides (identical in both twins)
KERNELS = {
    "_ids": ("uuid7", "is_uuid"),
    "_ring": ("fnv1a32", "mix32", "HashRing"),
    "_push": ("encode_push_items", "join_items", "encode_push", "PushBuffer", "push_all_stored"),
    "_pop": ("parse_pop",),
    "_ack": ("ack_items", "ack_results"),
    "_window": ("MISSING", "get_path", "window_filter", "window_group_by", "window_aggregate"),
}


def load(pure: bool) -> SimpleNamespace:
    """Every kernel from one twin: pure Python (``pure=True``) or compiled.

    Raises ImportError when a compiled module is not built.
    """
    names: dict[str, object] = {}
    for module, public in KERNELS.items():
        mod = importlib.import_module(f"{__name__}.{module}{'_py' if pure else ''}")
        for name in public:
            names[name] = getattr(mod, name)
    return SimpleNamespace(compiled=not pure, **names)


def _pure_forced() -> bool:
    return os.environ.get("QUEEN_NO_EXTENSIONS", "") not in ("", "0")


if TYPE_CHECKING:
    from ._ack_py import ack_items, ack_results
    from ._ids_py import is_uuid, uuid7
    from ._pop_py import parse_pop
    from ._push_py import PushBuffer, encode_push, encode_push_items, join_items, push_all_stored
    from ._ring_py import HashRing, fnv1a32, mix32
    from ._window_py import MISSING, get_path, window_aggregate, window_filter, window_group_by

    COMPILED: bool
    IMPL: Literal["compiled", "pure"]
else:
    _active = None
    if not _pure_forced():
        try:
            _active = load(pure=False)
        except ImportError:
            _active = None
    if _active is None:
        _active = load(pure=True)
    COMPILED = _active.compiled
    IMPL = "compiled" if COMPILED else "pure"
    globals().update({k: v for k, v in vars(_active).items() if k != "compiled"})
    del _active
