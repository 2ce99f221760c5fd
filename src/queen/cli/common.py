"""Helpers shared by the ``queen`` verbs and by benchmarks/: the server to talk to
(an embedded one in its own process unless a URL is given), progress output and
tables. Standard library only (rich is used when installed)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

# --------------------------------------------------------------------------- the server


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout: float = 20.0,
                 proc: Optional[subprocess.Popen[bytes]] = None) -> None:
    """Poll ``url/health`` until it answers 200; raise RuntimeError after ``timeout``
    seconds or when ``proc`` (the server process) exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the embedded server exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no healthy Queen server at {url} after {timeout:.0f} s")
        time.sleep(0.05)


@contextlib.contextmanager
def server_url(url: Optional[str], compat: str = "0.7", quiet: bool = True) -> Iterator[str]:
    """Yield `url` (or QUEEN_URL), or start `python -m queen.testing` on a free loopback port."""
    url = url or os.environ.get("QUEEN_URL")
    if url:
        yield url.rstrip("/")
        return
    port = free_port()
    cmd = [sys.executable, "-m", "queen.testing", "--port", str(port), "--host", "127.0.0.1"]
    if compat != "0.7":
        cmd += ["--compat", compat]
    out = subprocess.DEVNULL if quiet else None
    # its own session: a terminal's Ctrl-C reaches only us, and we stop it (finally)
    proc = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc=proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- output


class Progress:
    """rich progress bars when rich is installed, plain lines otherwise."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._rich: Any = None
        self._shown: Dict[Any, Tuple[float, int, int]] = {}  # task -> (when, done, total)
        if enabled and sys.stderr.isatty():
            try:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeElapsedColumn,
                )
                from rich.progress import Progress as RP

                self._rich = RP(TextColumn("{task.description:<28}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), transient=False)
            except ImportError:
                self._rich = None

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)

    def add(self, label: str, total: int) -> Any:
        if self._rich is not None:
            return self._rich.add_task(label, total=total)
        if self.enabled:
            print(f"  {label} ...", file=sys.stderr, flush=True)
        return label

    def update(self, task: Any, done: int, total: int) -> None:
        """Plain output: a line per task when it moved on (at most one every 2 s per
        task) and when it completes, so every stage shows, not only the first."""
        if self._rich is not None:
            self._rich.update(task, completed=done)
            return
        if not self.enabled:
            return
        now = time.monotonic()
        when, last, _ = self._shown.get(task, (0.0, -1, total))
        finished = done >= total and last < total
        if done != last and (finished or now - when >= 2.0):
            self._shown[task] = (now, done, total)
            print(f"    {task}: {done}/{total}", file=sys.stderr, flush=True)


def fmt(v: Any, digits: int = 1) -> str:
    """A table cell: thousands separators, ``-`` for a missing figure."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text table (rich is used for printing when available)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    out = [title, line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a table with rich when installed, as plain text otherwise."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(render_table(title, header, rows))
        return
    table = Table(title=title)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    Console(width=max(120, shutil.get_terminal_size().columns)).print(table)
