#!/usr/bin/env bash
# Installs fastqueen with its test extras and runs the whole suite twice: once on the
# compiled core (a missing compiled kernel fails it), once on the pure-Python twins
# (QUEEN_NO_EXTENSIONS=1, the explicit opt-out); then ruff, mypy and the layering check.
# Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test]'
echo "=== run 1/2: compiled core (queen._core kernels built by Cython) ==="
python -m pytest -q -p no:cacheprovider "$@"
echo "=== run 2/2: pure-Python twins (QUEEN_NO_EXTENSIONS=1) ==="
# -m "not slow": the slow tests build the package (tests/core/test_core_build.py); what
# they check does not depend on which twins run, so once is enough
QUEEN_NO_EXTENSIONS=1 python -m pytest -q -p no:cacheprovider -m "not slow" "$@"
echo "=== ruff, mypy, layering ==="
ruff check src tests benchmarks
mypy
lint-imports  # the layering contracts in pyproject.toml
