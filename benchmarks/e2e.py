"""End-to-end benchmarks of our client only: ``queen bench`` plus the 1M-message ``memory``
workload (see benchmarks/README.md).

    python benchmarks/e2e.py [--url URL] [--only push,popack,memory] [--messages N] [--json out.json]
"""

from __future__ import annotations

import sys

from compare import main

if __name__ == "__main__":
    sys.exit(main(["--no-upstream", "--no-raw", *sys.argv[1:]]))
