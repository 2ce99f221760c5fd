"""Compiled kernels with pure-Python twins.

Each kernel ``X`` lives in ``_X.pyx`` (compiled) and ``_X_py.py`` (pure), with the
same public names and behaviour. The compiled twin is used unless
``QUEEN_NO_EXTENSIONS`` is on (anything but "", "0", "false", "no", "off"), chosen per
kernel: a kernel whose compiled module is missing or fails to import falls back to its
pure twin alone, with a RuntimeWarning naming it (no warning when no kernel is
compiled at all: a pure install, which the build already warned about).
``KERNEL_IMPL`` tells per kernel which twin is active, ``COMPILED`` whether all are
compiled, ``IMPL`` "compiled", "pure" or "mixed". This package imports nothing from
the rest of ``queen``: errors are raised as TypeError/ValueError and translated by
callers.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Dict, Literal, Optional

from ._flags import env_flag

__all__ = [
    "COMPILED",
    "IMPL",
    "KERNEL_IMPL",
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
    "ack_results_015",
    "ack_reply_015",
    "MISSING",
    "get_path",
    "window_filter",
    "window_group_by",
    "window_aggregate",
    "iso_ms", "ms_iso", "state_key", "split_partitions", "window_starts", "fold_windows",
    "close_windows", "agg_update", "sink_items", "encode_cycle",
]

# kernel module -> the public names it provides (identical in both twins)
KERNELS = {
    "_ids": ("uuid7", "is_uuid"),
    "_ring": ("fnv1a32", "mix32", "HashRing"),
    "_push": ("encode_push_items", "join_items", "encode_push", "PushBuffer", "push_all_stored"),
    "_pop": ("parse_pop",),
    "_ack": ("ack_items", "ack_results", "ack_results_015", "ack_reply_015"),
    "_window": ("MISSING", "get_path", "window_filter", "window_group_by", "window_aggregate"),
    "_streams": ("iso_ms", "ms_iso", "state_key", "split_partitions", "window_starts", "fold_windows", "close_windows", "agg_update", "sink_items", "encode_cycle"),  # noqa: E501
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


def _active_modules() -> Dict[str, ModuleType]:
    """Kernel -> the module of its active twin (see the module docstring)."""
    forced = env_flag("QUEEN_NO_EXTENSIONS")
    modules: Dict[str, ModuleType] = {}
    missing: Dict[str, str] = {}
    for module in KERNELS:
        mod: Optional[ModuleType] = None
        if not forced:
            try:
                mod = importlib.import_module(f"{__name__}.{module}")
            except ImportError as e:
                missing[module] = str(e)
        modules[module] = mod or importlib.import_module(f"{__name__}.{module}_py")
    if len(missing) < len(KERNELS):  # a partial build: say which kernels run pure
        for module, why in missing.items():
            warnings.warn(f"queen._core: the compiled kernel {module} is not available "
                          f"({why}); using its pure-Python twin", RuntimeWarning, stacklevel=2)
    return modules


if TYPE_CHECKING:
    from ._ack_py import ack_items, ack_reply_015, ack_results, ack_results_015
    from ._ids_py import is_uuid, uuid7
    from ._pop_py import parse_pop
    from ._push_py import PushBuffer, encode_push, encode_push_items, join_items, push_all_stored
    from ._ring_py import HashRing, fnv1a32, mix32
    from ._streams_py import (
        agg_update,
        close_windows,
        encode_cycle,
        fold_windows,
        iso_ms,
        ms_iso,
        sink_items,
        split_partitions,
        state_key,
        window_starts,
    )
    from ._window_py import MISSING, get_path, window_aggregate, window_filter, window_group_by

    COMPILED: bool
    IMPL: Literal["compiled", "pure", "mixed"]
    KERNEL_IMPL: Dict[str, Literal["compiled", "pure"]]
else:
    KERNEL_IMPL = {}
    for _module, _mod in _active_modules().items():
        KERNEL_IMPL[_module] = "pure" if _mod.__name__.endswith("_py") else "compiled"
        globals().update({name: getattr(_mod, name) for name in KERNELS[_module]})
    COMPILED = all(v == "compiled" for v in KERNEL_IMPL.values())
    IMPL = "compiled" if COMPILED else "mixed" if "compiled" in KERNEL_IMPL.values() else "pure"
    del _module, _mod
