"""Build script: only declares the optional Cython extensions of ``queen._core``.

Everything else lives in pyproject.toml. The extensions are optional: without Cython
(and without the generated .c files of an sdist), without a C compiler, or with
``QUEEN_NO_EXTENSIONS=1`` the build warns and installs the pure-Python twins. Each
kernel is translated and compiled on its own: one that fails is installed pure (with a
warning naming it) and the others stay compiled.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = ("_ids", "_ring", "_push", "_pop", "_window", "_ack", "_streams")
CORE = Path("src", "queen", "_core")
DIRECTIVES = {
    "language_level": "3",
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
}


def warn(msg: str, what: str = "the pure-Python core") -> None:
    print(f"WARNING (fastqueen): {msg}; installing {what}", file=sys.stderr)


def _env_flag(name: str) -> bool:
    # the package's own rule (queen/_core/_flags.py), loaded by path: the package
    # itself is not importable while it is being built
    spec = importlib.util.spec_from_file_location("_queen_flags", CORE / "_flags.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return bool(mod.env_flag(name))


def _one(kernel: str) -> list[Extension]:
    """The extension of one kernel, or [] (with a warning) when it cannot be translated."""
    pyx = CORE / f"{kernel}.pyx"
    name = f"queen._core.{kernel}"
    try:
        from Cython.Build import cythonize
    except ImportError:
        # An sdist ships the generated C, so a compiler alone is enough.
        c_file = pyx.with_suffix(".c")
        if c_file.exists():
            return [Extension(name, [str(c_file)])]
        warn(f"Cython is not installed and {c_file} was not found", f"the pure {kernel}")
        return []
    try:
        return list(cythonize([Extension(name, [str(pyx)])], compiler_directives=DIRECTIVES,
                              include_path=[str(CORE)], quiet=True))
    except Exception as e:  # a Cython compile error must not break the install
        warn(f"cythonize {pyx.name} failed ({e})", f"the pure {kernel}")
        return []


def extensions() -> list[Extension]:
    if _env_flag("QUEEN_NO_EXTENSIONS"):
        warn("QUEEN_NO_EXTENSIONS is set")
        return []
    return [ext for kernel in KERNELS for ext in _one(kernel)]


class OptionalBuildExt(build_ext):
    """build_ext that turns any compiler failure into a warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as e:
            warn(f"building the C extensions failed ({e})")

    def build_extension(self, ext: Extension) -> None:
        if self.compiler.compiler_type == "unix":
            # Python's default CFLAGS carry -g; debug info makes the modules ~5x larger
            ext.extra_compile_args = [*ext.extra_compile_args, "-g0"]
        try:
            super().build_extension(ext)
        except Exception as e:  # the other extensions are still built
            warn(f"building {ext.name} failed ({e})", f"the pure {ext.name}")


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
