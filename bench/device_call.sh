#!/usr/bin/env bash
# One call on a lent GPU machine: `bash bench/device_call.sh speed|sweep|distill [ARGS]`.
#
# The machine has JAX but neither TensorFlow, Keras nor Optuna: .devpack/ (or $DEVPACK) holds ../shared's Keras
# wheels, Optuna's (docs/scaling.md), the data files and weights (../shared/gpu/README.md). Whatever the runs wrote comes back as
# $OUT/device_<part>.tar.gz, also when a run was cut short by its timeout; evaluate on the CPU afterwards.
#   speed  the full preset alone, one run after the other: today's float32 at batch 128 (the baseline), then
#          mixed bfloat16 with 8 steps per execution, then that at batch 512 with the LR bounds doubled.
#          ARGS: overrides for every run.
#   sweep  tune.py's grid, 4 runs at once within 8 minutes. ARGS: the grid as tune.py's --space of choices
#          ("seed=42|1|2,image_size=128|160"), then overrides for every run.
#   distill  knowledge distillation: three teachers of the full preset at once (seeds 42, 1, 2, all holding out
#          seed 42's validation split), then a student of seed 7 learning from their mean, alone.
#          ARGS: overrides for every run.
# Rehearse on a CPU first, in an environment without TensorFlow (docs/scaling.md).
set -u
part=${1:?say speed, sweep or distill}; shift
pack=${DEVPACK:-.devpack}
out=${OUT:-runs/device}
runs=${DEVICE_RUNS:-/tmp/device_runs}
python=${PYTHON:-python3}
mkdir -p "$out" "$runs"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
if ! "$python" -c "import keras, optuna" 2>/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --target /tmp/site "$pack"/*.whl && export PYTHONPATH=/tmp/site
fi
weights=$(ls "$pack"/*.h5 2>/dev/null | head -1)
data=(--data_dir "$pack" --weights "${weights:-none}" --results_file "$runs/results.csv")
{ nvidia-smi || true; "$python" -c "import jax; print(jax.__version__, jax.devices())"; } > "$runs/device.txt" 2>&1

case $part in
  speed)
    while read -r name limit overrides; do
      echo "$(date +%T) $name: $overrides"
      # shellcheck disable=SC2086  # the overrides are words
      timeout "$limit" "$python" train.py "${data[@]}" --artifacts_dir "$runs/$name" "$@" $overrides \
        > "$runs/$name.log" 2>&1
      status=$?  # read before the echo's $(date) replaces it
      echo "$(date +%T) $name: exit $status"; grep "best validation" "$runs/$name.log"
    done <<'RUNS'
float32_b128 240
bf16_spe8_b128 180 --mixed_precision mixed_bfloat16 --steps_per_execution 8
bf16_spe8_b512 150 --mixed_precision mixed_bfloat16 --steps_per_execution 8 --batch_size 512 --clr_min 8e-5 --clr_max 2e-3
RUNS
    ;;
  sweep)
    grid=${1:?give the grid: a --space of choices for tune.py}; shift
    timeout 540 "$python" tune.py --space "$grid" --sampler grid --pruner none --workers 4 --timeout_minutes 8 \
      --out "$runs" --study sweep "${data[@]}" "$@" 2>&1 | tee "$runs/sweep.log"
    ;;
  distill)
    timeout 390 "$python" tune.py --space "seed=42|1|2" --sampler grid --pruner none --workers 3 --timeout_minutes 6 \
      --out "$runs" --study teachers "${data[@]}" --split_seed 42 "$@" 2>&1 | tee "$runs/teachers.log"
    teachers=$(ls -d "$runs"/teachers/trial-*/artifacts | paste -sd, -)
    student=(--seed 7 --split_seed 42 --teachers "$teachers" --artifacts_dir "$runs/student")
    echo "$(date +%T) student of $teachers"
    timeout 300 "$python" train.py "${data[@]}" "$@" "${student[@]}" > "$runs/student.log" 2>&1
    trained=$?
    "$python" evaluate.py "${data[@]}" "$@" "${student[@]}" >> "$runs/student.log" 2>&1
    evaluated=$?
    echo "$(date +%T) student: train.py exit $trained, evaluate.py exit $evaluated"
    grep -E "best validation|^test accuracy" "$runs/student.log"
    ;;
  *) echo "say speed, sweep or distill, not $part" >&2; exit 2 ;;
esac
tar czf "$out/device_$part.tar.gz" --exclude='*.npz' --exclude=tensorboard -C "$(dirname "$runs")" "$(basename "$runs")"
ls -l "$out"
