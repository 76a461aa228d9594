#!/usr/bin/env bash
# One GPU session: the training-throughput benchmark, the CUDA-only tests, then, side by
# side, the long ABN-PPO and stock-PPO runs (each resumed from $RUNS/<name> when that
# holds a run, else started anew), then 30 evaluation games of the ABN run. Results go
# to $OUT as one archive in <16 MB parts.
#   OUT=/tmp/out RUNS=runs DEVICE=cuda TRAIN_MIN=5.5 bash benchmarks/gpu_session.sh
# Carry runs/abn-ppo and runs/cnn-ppo (checkpoints/latest.zip, config.json,
# progress.csv: ~45 MB) and .whl (../shared/gpu/fetch-wheels, plus pytest for the tests).
set -u
DEVICE=${DEVICE:-cuda}
RUNS=${RUNS:-runs}
TRAIN_MIN=${TRAIN_MIN:-5.5}        # wall-clock minutes of the long runs
BENCH_STEPS=${BENCH_STEPS:-16384}
EVAL_EPISODES=${EVAL_EPISODES:-30}
export PYTHONUNBUFFERED=1
R=$OUT/results
mkdir -p "$R"
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc; python3 -c \
  "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$R/machine.txt" 2>&1

timeout 120 python3 benchmarks/train_throughput.py --steps "$BENCH_STEPS" --n-envs 8 \
  --device "$DEVICE" > "$R/train_throughput.txt" 2>&1
timeout 120 python3 -m pytest -q -rs tests/vision/test_explain_contract.py -k model_device \
  > "$R/cuda_tests.txt" 2>&1

train() {  # name, policy, threads, eval_every
  local run="$R/$1" common=(--device "$DEVICE" --threads "$3" --time-limit-min "$TRAIN_MIN"
    --no-progress)
  if [ -f "$RUNS/$1/checkpoints/latest.zip" ]; then
    mkdir -p "$run" && cp -r "$RUNS/$1/." "$run/"
    python3 -m abnrl.cli train --resume "$run" "${common[@]}" > "$R/$1.log" 2>&1
  else
    python3 -m abnrl.cli train --policy "$2" --run-dir "$run" --n-envs 32 --batch-size 256 \
      --eval-every "$4" --checkpoint-every 250000 "${common[@]}" > "$R/$1.log" 2>&1
  fi
}
train abn-ppo abn 9 1000000 &
train cnn-ppo cnn 6 0 &
wait
python3 -m abnrl.cli eval "$R/abn-ppo" --episodes "$EVAL_EPISODES" --device "$DEVICE" \
  --n-envs 16 > "$R/abn-ppo-eval.txt" 2>&1
# Only what later sessions need: resumable latest checkpoints, a slim best one.
rm -rf "$R"/*/tensorboard
best="$R/abn-ppo/checkpoints/best.zip"
[ -f "$best" ] && python3 -c "import sys; from pathlib import Path; \
from abnrl.pretrained import slim_checkpoint; slim_checkpoint(Path(sys.argv[1]), Path(sys.argv[1]))" "$best"
tar -czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
split -b 15m "$OUT/results.tgz" "$OUT/results.tgz.part-" && rm "$OUT/results.tgz"
ls -la "$OUT"
