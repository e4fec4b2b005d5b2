#!/usr/bin/env bash
# Set up once, then run the test suite (unit tests on synthetic data; real-data tests when ../shared exists).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/python -m pytest -q "$@"
