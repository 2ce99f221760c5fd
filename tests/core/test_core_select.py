"""How ``queen._core`` picks a twin, and that both twins offer the same names."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from core_twins import compiled_or_skip

import queen._core as core_pkg

PROBE = "import queen._core as c; print(c.COMPILED, c.IMPL, c.uuid7.__module__)"


def run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "QUEEN_NO_EXTENSIONS"}
    full.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_no_extensions_env_forces_pure(value: str) -> None:
    assert run(PROBE, QUEEN_NO_EXTENSIONS=value) == "False pure queen._core._ids_py"


@pytest.mark.parametrize("value", ["", "0"])
def test_empty_or_zero_env_keeps_compiled(value: str) -> None:
    compiled_or_skip()
    assert run(PROBE, QUEEN_NO_EXTENSIONS=value) == "True compiled queen._core._ids"


def test_a_missing_compiled_module_falls_back_to_pure_silently() -> None:
    code = "import sys; sys.modules['queen._core._window'] = None\n" + PROBE
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env={k: v for k, v in os.environ.items() if k != "QUEEN_NO_EXTENSIONS"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False pure queen._core._ids_py"
    assert out.stderr == ""


def test_active_twin_matches_flags() -> None:
    assert core_pkg.IMPL == ("compiled" if core_pkg.COMPILED else "pure")
    active = core_pkg.load(pure=not core_pkg.COMPILED)
    for names in core_pkg.KERNELS.values():
        for name in names:
            assert getattr(core_pkg, name) is getattr(active, name)


def test_both_twins_have_the_same_public_names(core: SimpleNamespace) -> None:
    import importlib

    suffix = "" if core.compiled else "_py"
    for module, names in core_pkg.KERNELS.items():
        mod = importlib.import_module(f"queen._core.{module}{suffix}")
        assert sorted(mod.__all__) == sorted(names)
        assert set(core_pkg.__all__) >= set(names)


def test_load_reports_its_twin(core: SimpleNamespace) -> None:
    assert core.uuid7.__module__.endswith("_py") is (not core.compiled)


def test_expect_compiled_means_compiled() -> None:
    if os.environ.get("QUEEN_EXPECT_COMPILED", "") not in ("", "0"):
        assert core_pkg.COMPILED, "QUEEN_EXPECT_COMPILED is set but the pure core is active"
        assert os.environ.get("QUEEN_NO_EXTENSIONS", "") in ("", "0")
