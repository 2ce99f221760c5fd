"""How ``queen._core`` picks a twin, and that both twins offer the same names."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from core_twins import compiled_or_skip, compiled_required

import queen._core as core_pkg
from queen._core._flags import env_flag

PROBE = "import queen._core as c; print(c.COMPILED, c.IMPL, c.uuid7.__module__)"


def run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "QUEEN_NO_EXTENSIONS"}
    full.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize("value", ["1", "yes", "true", "ON", " 1 "])
def test_no_extensions_env_forces_pure(value: str) -> None:
    assert run(PROBE, QUEEN_NO_EXTENSIONS=value) == "False pure queen._core._ids_py"


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "False", " OFF "])
def test_off_values_keep_compiled(value: str) -> None:
    compiled_or_skip()
    assert run(PROBE, QUEEN_NO_EXTENSIONS=value) == "True compiled queen._core._ids"


@pytest.mark.parametrize(("value", "on"), [
    (None, False), ("", False), ("0", False), ("false", False), ("No", False), ("off", False),
    ("1", True), ("yes", True), ("true", True), ("anything", True),
])
def test_env_flag_reads_one_rule(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                 on: bool) -> None:
    if value is None:
        monkeypatch.delenv("QUEEN_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("QUEEN_TEST_FLAG", value)
    assert env_flag("QUEEN_TEST_FLAG") is on


def _probe_without(*blocked: str) -> subprocess.CompletedProcess[str]:
    code = "".join(f"import sys; sys.modules['queen._core.{m}'] = None\n" for m in blocked)
    code += "import queen._core as c; print(c.COMPILED, c.IMPL, sorted(c.KERNEL_IMPL.items()))"
    return subprocess.run([sys.executable, "-c", code],
                          env={k: v for k, v in os.environ.items() if k != "QUEEN_NO_EXTENSIONS"},
                          capture_output=True, text=True, check=True)


def test_one_missing_compiled_kernel_falls_back_alone_with_a_warning() -> None:
    compiled_or_skip()
    out = _probe_without("_window")
    impls = dict(ast.literal_eval(out.stdout.split(" ", 2)[2]))
    assert out.stdout.startswith("False mixed ")
    assert impls.pop("_window") == "pure"
    assert set(impls.values()) == {"compiled"}  # the others stay compiled
    assert "RuntimeWarning" in out.stderr and "_window" in out.stderr
    assert out.stderr.count("RuntimeWarning") == 1


def test_no_compiled_kernel_at_all_is_a_quiet_pure_install() -> None:
    out = _probe_without(*core_pkg.KERNELS)
    assert out.stdout.startswith("False pure ")
    assert "'compiled'" not in out.stdout
    assert out.stderr == ""


def test_active_twin_matches_flags() -> None:
    impls = set(core_pkg.KERNEL_IMPL.values())
    assert core_pkg.COMPILED is (impls == {"compiled"})
    assert core_pkg.IMPL == (impls.pop() if len(impls) == 1 else "mixed")
    for module, names in core_pkg.KERNELS.items():
        pure = core_pkg.KERNEL_IMPL[module] == "pure"
        mod = importlib.import_module(f"queen._core.{module}{'_py' if pure else ''}")
        for name in names:
            assert getattr(core_pkg, name) is getattr(mod, name)


def test_both_twins_have_the_same_public_names(core: SimpleNamespace) -> None:
    suffix = "" if core.compiled else "_py"
    for module, names in core_pkg.KERNELS.items():
        mod = importlib.import_module(f"queen._core.{module}{suffix}")
        assert sorted(mod.__all__) == sorted(names)
        assert set(core_pkg.__all__) >= set(names)


def test_load_reports_its_twin(core: SimpleNamespace) -> None:
    assert core.uuid7.__module__.endswith("_py") is (not core.compiled)


def test_the_compiled_core_is_active_unless_the_run_opted_out() -> None:
    # fails a default run whose build lost its extensions (set QUEEN_NO_EXTENSIONS=1 to
    # run the pure twins alone)
    if compiled_required():
        assert core_pkg.COMPILED, f"pure kernels active: {core_pkg.KERNEL_IMPL}"
    else:
        assert core_pkg.IMPL == "pure"
