"""End-to-end benchmarks: the same code as ``queen bench`` (see benchmarks/README.md).

    python benchmarks/e2e.py [--url URL] [--only push,popack] [--messages N] [--json out.json]
"""

from __future__ import annotations

import sys

from queen.bench import main

if __name__ == "__main__":
    sys.exit(main())
