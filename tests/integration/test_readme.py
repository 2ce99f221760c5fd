"""Run every example of README.md against the embedded server (or ``QUEEN_URL``).

A ```python block that defines ``async def main`` is a runnable example: it is executed
as a module (not as ``__main__``, so its ``asyncio.run(main())`` guard stays quiet) and
its ``main()`` is awaited with ``QUEEN_URL`` pointing at the test server. Every other
python block must be marked ``<!-- fragment -->`` on the line before it, so an example
cannot silently stop being tested. Other tags, separated by ``;``:
``<!-- runs-on: 0.7 -->`` limits an example to one server generation, ``<!-- mypy -->``
also checks it with ``mypy --strict``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
TIMEOUT = 30.0  # seconds; each example takes well under 2 s, this only catches hangs

_BLOCK = re.compile(
    r"(?:<!--\s*(?P<tag>[^>]*?)\s*-->\s*\n)?^```python\n(?P<code>.*?)^```",
    re.S | re.M,
)


@dataclass
class Example:
    line: int
    code: str
    tag: str

    @property
    def tags(self) -> List[str]:
        return [t.strip() for t in self.tag.split(";") if t.strip()]

    @property
    def fragment(self) -> bool:
        return "fragment" in self.tags

    @property
    def runs_on(self) -> Optional[str]:
        for tag in self.tags:
            m = re.fullmatch(r"runs-on:\s*(\S+)", tag)
            if m:
                return m.group(1)
        return None

    @property
    def runnable(self) -> bool:
        return not self.fragment and re.search(r"^async def main\(", self.code, re.M) is not None


def _examples() -> List[Example]:
    text = README.read_text(encoding="utf-8")
    return [
        Example(text.count("\n", 0, m.start("code")) + 1, m.group("code"), m.group("tag") or "")
        for m in _BLOCK.finditer(text)
    ]


EXAMPLES = _examples()
RUNNABLE = [e for e in EXAMPLES if e.runnable]
TYPED = [e for e in EXAMPLES if "mypy" in e.tags]


def test_readme_has_runnable_examples() -> None:
    assert len(RUNNABLE) >= 20, f"only {len(RUNNABLE)} runnable examples in README.md"


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e.line}" for e in EXAMPLES])
def test_every_python_block_is_runnable_or_marked(example: Example) -> None:
    assert example.fragment or example.runnable, (
        f"README.md line {example.line}: a python block without `async def main` must be "
        "marked <!-- fragment -->"
    )
    if example.runnable:
        compile(example.code, f"README.md:{example.line}", "exec")
        assert "if __name__ == '__main__':" in example.code, (
            f"README.md line {example.line}: end runnable examples with an "
            "`if __name__ == '__main__':` guard"
        )


@pytest.mark.parametrize("example", RUNNABLE, ids=[f"line{e.line}" for e in RUNNABLE])
async def test_readme_example_runs(
    example: Example, queen_url: str, queen_compat: str, monkeypatch: Any
) -> None:
    if example.runs_on and not queen_compat.startswith(example.runs_on):
        pytest.skip(f"example needs a Queen {example.runs_on} server")
    monkeypatch.setenv("QUEEN_URL", queen_url)
    module = types.ModuleType(f"readme_example_line{example.line}")
    module.__file__ = str(README)
    exec(compile(example.code, f"README.md:{example.line}", "exec"), module.__dict__)
    await asyncio.wait_for(module.main(), TIMEOUT)


def test_typed_examples_exist() -> None:
    assert TYPED, "the Type hints example should be tagged <!-- mypy -->"


@pytest.mark.parametrize("example", TYPED, ids=[f"line{e.line}" for e in TYPED])
def test_typed_example_passes_mypy_strict(example: Example, tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    source = tmp_path / f"readme_line{example.line}.py"
    source.write_text(example.code, encoding="utf-8")
    out, err, status = api.run([
        "--strict", "--no-incremental", "--follow-imports=silent",
        "--config-file", "/dev/null", "--cache-dir", str(tmp_path / "cache"), str(source),
    ])
    assert status == 0, out + err


def _script(marker: str) -> Example:
    return next(e for e in RUNNABLE if marker in e.code)


@pytest.mark.parametrize("marker", ["queen.run(main())", "Processing:"])
def test_examples_run_as_scripts(marker: str, queen_url: str) -> None:
    """The ``__main__`` path too: a real interpreter, its own event loop (uvloop under
    ``queen.run`` when installed)."""
    example = _script(marker)
    env = dict(os.environ, QUEEN_URL=queen_url)
    done = subprocess.run([sys.executable, "-c", example.code], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    if marker.startswith("queen.run") and importlib.util.find_spec("uvloop") is not None:
        assert done.stdout.startswith("uvloop"), done.stdout


QUICK_START = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[server]' && queen demo",
    "python3 -m venv .venv && . .venv/bin/activate && bash scripts/test.sh",
)


def test_quick_start_commands_match_the_repository() -> None:
    """The two quick-start lines exist verbatim, and what they call is there: the ``queen``
    console script with its ``demo`` command, and ``scripts/test.sh``, which CI runs too."""
    root = README.parent
    text = README.read_text(encoding="utf-8")
    quick = text[text.index("## Quick start"):text.index("\n## ", text.index("## Quick start") + 1)]
    commands = re.findall(r"^```bash\n(.*?)\n```", quick, re.M | re.S)
    assert tuple(commands) == QUICK_START
    assert 'queen = "queen.cli:main"' in (root / "pyproject.toml").read_text(encoding="utf-8")
    from queen.cli import build_parser

    assert build_parser().parse_args(["demo"]).command == "demo"
    assert (root / "scripts" / "test.sh").is_file()
    assert "bash scripts/test.sh" in (root / ".ci" / "run").read_text(encoding="utf-8")


def _table(heading: str) -> List[List[str]]:
    """Rows (cells without the surrounding backticks) of the first table after ``heading``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    rows: List[List[str]] = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # skip the header and the --- line


def _plain(value: Any) -> Any:
    from collections.abc import Mapping

    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def test_configuration_table_matches_client_config() -> None:
    import ast
    import dataclasses

    from queen import ClientConfig

    defaults = ClientConfig()
    documented = {}
    for key, default, _meaning in _table("### Configuration reference"):
        name = re.match(r"`(\w+)`", key).group(1)  # type: ignore[union-attr]
        documented[name] = ast.literal_eval(default.strip("`"))
    assert set(documented) == {f.name for f in dataclasses.fields(ClientConfig)}
    for name, value in documented.items():
        assert _plain(getattr(defaults, name)) == value, name


def test_queue_options_table_matches_the_defaults_sent() -> None:
    import ast

    from queen import wire

    documented = {
        opt.strip("`"): ast.literal_eval(default.strip("`"))
        for opt, default, _meaning in _table("## Queues")
    }
    assert documented == wire.QUEUE_DEFAULTS


async def test_buffer_stats_keys_are_documented() -> None:
    from queen.buffer import BufferManager

    async def send(*_: Any) -> List[Any]:
        return []

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Client-side buffering"):text.index("## Dead letter queue")]
    for key in BufferManager(send).stats():
        assert f"`{key}`" in section, key


def test_api_at_a_glance_names_exist() -> None:
    from queen import Queen
    from queen.builders import DLQBuilder, QueueBuilder, TransactionBuilder
    from queen.builders.consume import ConsumeBuilder
    from queen.builders.push import PushBuilder
    from queen.builders.stream import StreamBuilder
    from queen.stream.consumer import StreamConsumer

    text = README.read_text(encoding="utf-8")
    start = text.index("## API at a glance")
    block = text[start:text.index("\n## ", start + 1)]
    builders = (QueueBuilder, DLQBuilder, TransactionBuilder, ConsumeBuilder, PushBuilder,
                StreamBuilder, StreamConsumer)
    for name in re.findall(r"\bqueen\.(\w+)\(", block):
        assert hasattr(Queen, name), f"Queen.{name}"
    for name in re.findall(r"\.(\w+)\(", block):
        assert hasattr(Queen, name) or any(hasattr(b, name) for b in builders), name
    options = _table("### Consume options")
    for call, _default, _meaning in options:
        for name in re.findall(r"\.(\w+)\(", call):
            assert hasattr(QueueBuilder, name), name
