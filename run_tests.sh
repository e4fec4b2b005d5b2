#!/usr/bin/env bash
# Set up once, then lint and run the test suite (synthetic data; real-data tests when ../shared exists).
# Arguments go to pytest:  ./run_tests.sh -m "not slow"   is the quick tier (no training processes).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -n auto --dist loadgroup "$@"  # one worker per core
