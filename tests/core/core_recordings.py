"""Pop replies taken from the real-server wire recordings (0.7.5 and 0.15.1).

``data/pop_replies.json`` is ``extract(<wire-recordings dir>)``, committed so the core
tests also run where the recordings are absent (wheel builds). A test re-extracts and
compares when the recordings are present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from shared_paths import find_recordings as _find_recordings

DATA = Path(__file__).parent / "data" / "pop_replies.json"
RECORDINGS = _find_recordings()
VERSIONS = ("0.7.5", "0.15.1")
FILES = ("pop.json", "consumer_groups.json", "ack.json")


def extract(root: Path) -> List[Dict[str, Any]]:
    """Every ``GET .../pop...`` step of FILES in both versions, without the summarised ones."""
    out: List[Dict[str, Any]] = []
    for version in VERSIONS:
        for name in FILES:
            for step in json.loads((root / version / name).read_text()):
                if step["method"] != "GET" or "/pop" not in step["path"]:
                    continue
                resp = step["response"]
                if isinstance(resp, dict) and "_summary" in resp:
                    continue
                out.append(
                    {
                        "version": version,
                        "file": name,
                        "note": step["note"],
                        "path": step["path"],
                        "status": step["status"],
                        "response": resp,
                    }
                )
    return out


def load() -> List[Dict[str, Any]]:
    data: List[Dict[str, Any]] = json.loads(DATA.read_text())
    return data


if __name__ == "__main__":
    DATA.write_text(json.dumps(extract(RECORDINGS), indent=1) + "\n")
