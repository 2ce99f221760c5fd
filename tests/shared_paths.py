"""Where the shared wire recordings live: $QUEEN_RECORDINGS, else ``shared/`` beside the
checkout (as CI lays it out), else the developers' /work/shared."""

from __future__ import annotations

import os
from pathlib import Path


def find_recordings() -> Path:
    candidates = [
        os.environ.get("QUEEN_RECORDINGS", ""),
        str(Path(__file__).resolve().parents[2] / "shared" / "wire-recordings"),
        "/work/shared/wire-recordings",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[-1])


RECORDINGS = find_recordings()
