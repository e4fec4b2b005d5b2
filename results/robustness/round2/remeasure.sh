#!/usr/bin/env bash
# Usage: results/robustness/round2/remeasure.sh RUN_NAME RESULT_NAME  (the suite with outlines made image by image,
# on the test and validation images, for a run of arm.sh whose export is in runs/rob2/RUN_NAME)
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the checkout
d=runs/rob2/$1; out=results/robustness/round2/$2
model=$d/exports/fashion_mnist_model.onnx
.venv/bin/python -m bench.robustness --model "$model" --data_dir ../shared/fashion-mnist --out "$out/remeasured_test.json"
.venv/bin/python -m bench.robustness --model "$model" --data_dir ../shared/fashion-mnist --validation_of "$d/artifacts" --out "$out/remeasured_val.json"
