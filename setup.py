"""Build script: only declares the optional Cython extensions of ``queen._core``.

Everything else lives in pyproject.toml. The extensions are optional: without Cython
(and without the generated .c files of an sdist), without a C compiler, or with
``QUEEN_NO_EXTENSIONS=1`` the build warns and installs the pure-Python twins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = ("_ids", "_ring", "_push", "_pop", "_window", "_ack")
CORE = Path("src", "queen", "_core")
DIRECTIVES = {
    "language_level": "3",
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
}


def warn(msg: str) -> None:
    print(f"WARNING (queen-mq): {msg}; installing the pure-Python core", file=sys.stderr)


def no_extensions() -> bool:
    return os.environ.get("QUEEN_NO_EXTENSIONS", "") not in ("", "0")


def extensions() -> list[Extension]:
    if no_extensions():
        warn("QUEEN_NO_EXTENSIONS is set")
        return []
    pyx = [CORE / f"{k}.pyx" for k in KERNELS]
    try:
        from Cython.Build import cythonize
    except ImportError:
        # An sdist ships the generated C, so a compiler alone is enough.
        c_files = [p.with_suffix(".c") for p in pyx]
        if all(p.exists() for p in c_files):
            return [Extension(f"queen._core.{k}", [str(c)]) for k, c in zip(KERNELS, c_files)]
        warn("Cython is not installed and no generated C sources were found")
        return []
    try:
        return list(
            cythonize(
                [Extension(f"queen._core.{k}", [str(p)]) for k, p in zip(KERNELS, pyx)],
                compiler_directives=DIRECTIVES,
                include_path=[str(CORE)],
                quiet=True,
            )
        )
    except Exception as e:  # a Cython compile error must not break the install
        warn(f"cythonize failed ({e})")
        return []


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
        except Exception as e:
            warn(f"building {ext.name} failed ({e})")


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
