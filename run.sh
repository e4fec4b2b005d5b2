#!/usr/bin/env bash
# Set up once, then run the whole job: train, evaluate, visualise, export.
# Arguments are config overrides, e.g.  ./run.sh --preset quick --data_dir DIR --weights FILE
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt

for script in train.py evaluate.py visualize_results.py export_model.py; do
  .venv/bin/python "$script" "$@"  # the same overrides for each (the later scripts pass --fresh by)
done
