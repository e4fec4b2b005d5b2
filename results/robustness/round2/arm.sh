#!/usr/bin/env bash
# Usage: results/robustness/round2/arm.sh NAME OVERRIDES...  (train, evaluate with the suite, export, validation suite)
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the checkout
name=$1; shift
d=runs/rob2/$name
mkdir -p "$d"
common=(--data_dir ../shared/fashion-mnist --weights ../shared/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5
        --artifacts_dir "$d/artifacts" --exports_dir "$d/exports" --visualizations_dir "$d/vis" --results_file "$d/results.csv")
t0=$(date +%s)
.venv/bin/python train.py "${common[@]}" "$@"
t1=$(date +%s)
.venv/bin/python evaluate.py "${common[@]}" "$@" --corruption_suite true
.venv/bin/python export_model.py "${common[@]}" "$@"
.venv/bin/python -m bench.robustness --model "$d/exports/fashion_mnist_model.onnx" --validation_of "$d/artifacts" --out "$d/val_suite.json"
t2=$(date +%s)
echo "train_s=$((t1-t0)) total_s=$((t2-t0)) cpu=$(lscpu | grep 'Model name' | sed 's/.*: *//') args=$*" > "$d/timing.txt"
