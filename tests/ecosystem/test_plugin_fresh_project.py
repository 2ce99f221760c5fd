"""The pytest plugin, pasted into a fresh project (no pytest configuration at all): its
tests run on asyncio with pytest alone, and with pytest-asyncio in strict and auto mode."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator, List

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


def _readme_test() -> str:
    """The README's plugin example, verbatim."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(# test_orders\.py\n.*?)```", text, re.S)
    assert block, "README.md lost its test_orders.py example"
    return block.group(1)


MORE_TESTS = '''
import pytest


async def test_fake_clock_and_a_second_client(embedded_server, queen):
    from queen import Queen
    from queen.testing import FakeClock

    srv = embedded_server('0.7', clock=FakeClock())
    async with Queen(srv.url) as other:
        await other.queue('delayed').config({'delayedProcessing': 10}).create()
        await other.queue('delayed').push([{'data': 1}])
        assert await other.queue('delayed').pop() == []
        srv.advance(11)
        [message] = await other.queue('delayed').pop()
        await other.ack(message, True)


@pytest.mark.asyncio
async def test_already_marked(queen, unique_name):
    await queen.queue(unique_name('m')).create()
'''

ASYNC_WITHOUT_OUR_FIXTURES = '''
async def test_not_ours():
    pass
'''


@pytest.fixture
def project(pytester: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in list(os.environ):
        if name.startswith("QUEEN_"):
            monkeypatch.delenv(name)
    pytester.makepyfile(test_orders=_readme_test())
    yield pytester


def _outcomes(result: Any) -> dict[str, int]:
    return {k: v for k, v in result.parseoutcomes().items() if k in ("passed", "failed",
                                                                      "errors", "skipped")}


def _has_pytest_asyncio() -> bool:
    try:
        import pytest_asyncio  # noqa: F401
    except ImportError:
        return False
    return True


# a coroutine never awaited, an unknown mark, an unclosed client: errors, not warnings
STRICT_WARNINGS = ["-W", "error::RuntimeWarning", "-W", "error::pytest.PytestUnknownMarkWarning",
                   "-W", "error::ResourceWarning", "-W", "error::pytest.PytestUnraisableExceptionWarning"]
MODES = [["-p", "no:asyncio"]]
if _has_pytest_asyncio():
    MODES += [[], ["-o", "asyncio_mode=strict"], ["-o", "asyncio_mode=auto"]]


@pytest.mark.parametrize("args", MODES, ids=lambda a: " ".join(a) or "pytest-asyncio default")
def test_readme_example_runs_as_pasted(project: Any, args: List[str]) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", *STRICT_WARNINGS, *args)
    assert _outcomes(result) == {"passed": 2}, result.stdout.str()  # once per personality


@pytest.mark.parametrize("args", MODES, ids=lambda a: " ".join(a) or "pytest-asyncio default")
def test_fake_clock_second_client_and_marked_tests(project: Any, args: List[str]) -> None:
    project.makepyfile(test_more=MORE_TESTS)
    if "no:asyncio" in args:  # the asyncio mark is pytest-asyncio's: unknown without it
        args = [*args, "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    result = project.runpytest_subprocess("-p", "no:cacheprovider", *args, "test_more.py")
    assert _outcomes(result) == {"passed": 4}, result.stdout.str()


def test_other_async_tests_are_left_alone_without_pytest_asyncio(project: Any) -> None:
    """The plugin runs only the async tests that use its fixtures: others fail as pytest
    alone makes them fail."""
    project.makepyfile(test_other=ASYNC_WITHOUT_OUR_FIXTURES)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio",
                                          "test_other.py")
    outcome = _outcomes(result)
    assert outcome.get("passed", 0) == 0 and (outcome.get("failed") or outcome.get("skipped"))


def test_only_one_personality_with_queen_test_compat(project: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEEN_TEST_COMPAT", "0.15")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio", "-v")
    assert _outcomes(result) == {"passed": 1}, result.stdout.str()
    result.stdout.fnmatch_lines(["*test_order_roundtrip?0.15? PASSED*"])


def test_pytest_asyncio_not_installed_at_all(project: Any) -> None:
    """As if only the package and pytest were installed: pytest_asyncio cannot be imported."""
    import sys

    code = (
        "import sys\n"
        "class Uninstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pytest_asyncio':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Uninstalled())\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-p', 'no:cacheprovider', '-p', 'no:asyncio', "
        f"{', '.join(repr(a) for a in STRICT_WARNINGS)}]))\n")
    result = project.run(sys.executable, "-c", code)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert _outcomes(result) == {"passed": 2}
