"""The distribution's name and its optional extras, in one place.

The client needs only orjson and httptools; everything else is an extra. A feature whose
extra is missing fails with an ``ImportError`` that names the ``pip install`` to run.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# PyPI distribution name (the import name stays ``queen``).
DISTRIBUTION = "fastqueen"


def install_hint(extra: str) -> str:
    """``pip install 'fastqueen[extra]'``: what to run to get an extra."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise an ImportError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{feature} needs the '{module.split('.')[0]}' package, which is not installed: "
            f"{install_hint(extra)}"
        ) from exc


def version() -> str:
    """The installed distribution's version, or ``unknown`` for a bare checkout."""
    try:
        from importlib.metadata import version as _version

        return _version(DISTRIBUTION)
    except Exception:
        return "unknown"


class LazyModule:
    """Stands for a module that is imported on first attribute access, so that importing
    ``queen`` does not load a dependency only one code path needs."""

    def __init__(self, module: str, extra: str, feature: str) -> None:
        self._spec = (module, extra, feature)
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> object:
        if self._module is None:
            self._module = require(*self._spec)
        return getattr(self._module, attr)
