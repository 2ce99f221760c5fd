"""Run every example of README.md and of the user docs (``DOCS``) against the embedded
server (or ``QUEEN_URL``).

A ```python block that defines ``async def main`` (or ``def main`` for the synchronous API)
is a runnable example: it is executed as a module (not as ``__main__``, so its
``asyncio.run(main())`` guard stays quiet) and its ``main()`` is run with ``QUEEN_URL``
pointing at the test server. Every other python block must be marked ``<!-- fragment -->``
on the line before it, so an example cannot silently stop being tested. Other tags,
separated by ``;``:
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
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs" / "guide").glob("*.md")),
        *(ROOT / "docs" / name for name in ("sync.md", "testing.md", "real-servers.md",
                                            "benchmarks.md", "building.md"))]
TIMEOUT = 30.0  # seconds; each example takes well under 2 s, this only catches hangs

_BLOCK = re.compile(
    r"(?:<!--\s*(?P<tag>[^>]*?)\s*-->\s*\n)?^```python\n(?P<code>.*?)^```",
    re.S | re.M,
)


@dataclass
class Example:
    path: Path
    line: int
    code: str
    tag: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def id(self) -> str:
        return f"{self.path.stem}-line{self.line}"

    @property
    def is_async(self) -> bool:
        return re.search(r"^async def main\(", self.code, re.M) is not None

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
        return not self.fragment and re.search(r"^(async )?def main\(", self.code, re.M) is not None


def _examples() -> List[Example]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        found += [
            Example(path, text.count("\n", 0, m.start("code")) + 1, m.group("code"),
                    m.group("tag") or "")
            for m in _BLOCK.finditer(text)
        ]
    return found


EXAMPLES = _examples()
RUNNABLE = [e for e in EXAMPLES if e.runnable]
ASYNC = [e for e in RUNNABLE if e.is_async]
SYNC = [e for e in RUNNABLE if not e.is_async]
TYPED = [e for e in EXAMPLES if "mypy" in e.tags]


def test_docs_have_runnable_examples() -> None:
    assert len(ASYNC) >= 20, f"only {len(ASYNC)} runnable async examples in the docs"
    assert len(SYNC) >= 4, f"only {len(SYNC)} runnable queen.sync examples in the docs"
    readme = [e for e in RUNNABLE if e.path == README]
    assert len(readme) >= 3, "the README's tour should hold complete programs"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_every_python_block_is_runnable_or_marked(example: Example) -> None:
    assert example.fragment or example.runnable, (
        f"{example.where}: a python block without `def main` / `async def main` must be "
        "marked <!-- fragment -->"
    )
    if example.runnable:
        compile(example.code, example.where, "exec")
        assert "if __name__ == '__main__':" in example.code, (
            f"{example.where}: end runnable examples with an `if __name__ == '__main__':` guard"
        )


def _load(example: Example, queen_url: str, queen_compat: str, monkeypatch: Any) -> Any:
    if example.runs_on and not queen_compat.startswith(example.runs_on):
        pytest.skip(f"example needs a Queen {example.runs_on} server")
    monkeypatch.setenv("QUEEN_URL", queen_url)
    module = types.ModuleType(f"doc_example_{example.id.replace('-', '_')}")
    module.__file__ = str(example.path)
    exec(compile(example.code, example.where, "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("example", ASYNC, ids=[e.id for e in ASYNC])
async def test_doc_example_runs(
    example: Example, queen_url: str, queen_compat: str, monkeypatch: Any
) -> None:
    module = _load(example, queen_url, queen_compat, monkeypatch)
    await asyncio.wait_for(module.main(), TIMEOUT)


@pytest.mark.parametrize("example", SYNC, ids=[e.id for e in SYNC])
def test_sync_doc_example_runs(
    example: Example, queen_url: str, queen_compat: str, monkeypatch: Any
) -> None:
    module = _load(example, queen_url, queen_compat, monkeypatch)
    errors: List[BaseException] = []

    def run() -> None:
        try:
            module.main()
        except BaseException as e:
            errors.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(TIMEOUT)
    assert not worker.is_alive(), f"{example.where} did not finish in {TIMEOUT} s"
    if errors:
        raise errors[0]


def test_typed_examples_exist() -> None:
    assert TYPED, "the Type hints example should be tagged <!-- mypy -->"


@pytest.mark.parametrize("example", TYPED, ids=[e.id for e in TYPED])
def test_typed_example_passes_mypy_strict(example: Example, tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    source = tmp_path / f"{example.id.replace('-', '_')}.py"
    source.write_text(example.code, encoding="utf-8")
    out, err, status = api.run([
        "--strict", "--no-incremental", "--follow-imports=silent",
        "--config-file", "/dev/null", "--cache-dir", str(tmp_path / "cache"), str(source),
    ])
    assert status == 0, out + err


def _script(marker: str) -> Example:
    return next(e for e in RUNNABLE if marker in e.code)


@pytest.mark.parametrize("marker", ["queen.run(main())", "Processing:", "print('Sending'"])
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


def _section(heading: str) -> str:
    """The text under ``heading`` (a whole line, e.g. ``## Queues``), in whichever doc
    holds it, up to the next heading of the same or a higher level (outside code)."""
    level = len(heading.split(" ")[0])
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        if heading not in lines:
            continue
        out = [heading]
        in_code = False
        for line in lines[lines.index(heading) + 1:]:
            if line.startswith("```"):
                in_code = not in_code
            found = None if in_code else re.match(r"(#+) ", line)
            if found and len(found.group(1)) <= level:
                break
            out.append(line)
        return "\n".join(out)
    raise AssertionError(f"no doc has the heading {heading!r}")


def _table(heading: str) -> List[List[str]]:
    """Rows (cells without the surrounding backticks) of the first table after ``heading``."""
    rows: List[List[str]] = []
    for line in _section(heading).splitlines()[1:]:
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

    section = _section("## Client-side buffering")
    for key in BufferManager(send).stats():
        assert f"`{key}`" in section, key


def test_api_at_a_glance_names_exist() -> None:
    from queen import Queen
    from queen.builders import DLQBuilder, QueueBuilder, TransactionBuilder
    from queen.builders.consume import ConsumeBuilder
    from queen.builders.push import PushBuilder
    from queen.builders.stream import StreamBuilder
    from queen.stream.consumer import StreamConsumer

    block = _section("## API at a glance")
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
