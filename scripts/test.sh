#!/usr/bin/env bash
# Installs fastqueen with its test extras and runs the whole suite twice: once on the
# compiled core (a missing compiled kernel fails it), once on the pure-Python twins
# (QUEEN_NO_EXTENSIONS=1, the explicit opt-out).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test]'
python -m pytest -q -p no:cacheprovider "$@"
QUEEN_NO_EXTENSIONS=1 python -m pytest -q -p no:cacheprovider -m "not slow" "$@"
ruff check src tests benchmarks
mypy
lint-imports  # the layering contracts in pyproject.toml
