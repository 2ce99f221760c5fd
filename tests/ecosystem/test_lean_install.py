"""A plain install is the client alone: orjson and httptools. Everything else is an extra,
loaded only by the feature that needs it, and a missing extra is named in the error."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

from queen._extras import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


def test_runtime_requirements_are_only_what_the_client_needs() -> None:
    requires = distribution(DISTRIBUTION).requires or []
    plain = sorted(r.split(">")[0].split(";")[0].strip() for r in requires if "extra ==" not in r)
    assert plain == ["httptools", "orjson"]
    extras = set(distribution(DISTRIBUTION).metadata.get_all("Provides-Extra") or [])
    assert {"server", "http2", "uvloop", "cli", "test", "dev"} <= extras
    assert not any("hypercorn" in r and "extra == \"server\"" in r for r in requires)


def test_import_queen_loads_neither_aiohttp_nor_httpx() -> None:
    done = _run(
        "import sys\n"
        "import queen\n"
        "from queen import *  # every public name\n"
        "from queen import Queen\n"
        "Queen('http://127.0.0.1:1')\n"
        "print(sorted(m for m in ('aiohttp', 'httpx', 'yarl', 'h2', 'rich') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_aiohttp_is_loaded_only_for_its_backend() -> None:
    done = _run(
        "import asyncio, sys\n"
        "from queen import Queen\n"
        "async def main():\n"
        "    async with Queen('http://127.0.0.1:1'):\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "print('aiohttp' in sys.modules)\n",
        QUEEN_HTTP1_BACKEND="aiohttp",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


_BLOCKED = "import sys\nsys.modules[{name!r}] = None  # as if not installed\n"
_PUSH = (
    "import asyncio\n"
    "from queen import Queen\n"
    "async def main():\n"
    "    async with Queen({options}) as q:\n"
    "        await q.queue('x').push([{{'data': 1}}])\n"
    "asyncio.run(main())\n"
)


def test_a_missing_aiohttp_names_the_server_extra() -> None:
    code = _BLOCKED.format(name="aiohttp") + _PUSH.format(options="'http://127.0.0.1:1'")
    done = _run(code, QUEEN_HTTP1_BACKEND="aiohttp")
    assert done.returncode != 0
    assert f"pip install '{DISTRIBUTION}[server]'" in done.stderr.splitlines()[-1]


def test_a_missing_httpx_names_the_http2_extra() -> None:
    code = _BLOCKED.format(name="httpx") + _PUSH.format(
        options="{'url': 'http://127.0.0.1:1', 'http2': True}")
    done = _run(code)
    assert done.returncode != 0
    assert f"pip install '{DISTRIBUTION}[http2]'" in done.stderr.splitlines()[-1]


def test_the_default_path_works_without_aiohttp_and_httpx(queen_url: str) -> None:
    """The client round-trips with both packages made unimportable."""
    code = (
        _BLOCKED.format(name="aiohttp") + _BLOCKED.format(name="httpx") +
        "import asyncio, os\n"
        "from queen import Queen\n"
        "async def main():\n"
        "    async with Queen(os.environ['QUEEN_URL']) as q:\n"
        "        name = 'lean-' + os.urandom(4).hex()\n"
        "        await q.queue(name).create()\n"
        "        await q.queue(name).push([{'data': {'n': 1}}])\n"
        "        [m] = await q.queue(name).batch(1).wait(False).pop()\n"
        "        await q.ack(m, True)\n"
        "        await q.queue(name).delete()\n"
        "        print(m['data'])\n"
        "asyncio.run(main())\n"
    )
    done = _run(code, QUEEN_URL=queen_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'n': 1}"


@pytest.mark.parametrize("extra", ["server", "http2", "uvloop", "cli"])
def test_readme_names_every_extra(extra: str) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{extra}`" in text or f"[{extra}]" in text
