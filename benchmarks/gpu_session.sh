#!/usr/bin/env bash
# One GPU session: the training-throughput benchmark, then, side by side, the 300k-step
# learning check, the long ABN-PPO run and a stock-PPO run of the same settings, then
# 30 evaluation games of the ABN run. Results go to $OUT as one archive in <16 MB parts.
#   OUT=/tmp/out DEVICE=cuda TRAIN_MIN=5.5 bash benchmarks/gpu_session.sh
set -u
DEVICE=${DEVICE:-cuda}
TRAIN_MIN=${TRAIN_MIN:-5.5}        # wall-clock minutes of the long runs
LC_STEPS=${LC_STEPS:-300000}
BENCH_STEPS=${BENCH_STEPS:-16384}
EVAL_EPISODES=${EVAL_EPISODES:-30}
export PYTHONUNBUFFERED=1
R=$OUT/results
mkdir -p "$R"
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc; python3 -c \
  "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$R/machine.txt" 2>&1

timeout 120 python3 benchmarks/train_throughput.py --steps "$BENCH_STEPS" --n-envs 8 \
  --device "$DEVICE" > "$R/train_throughput.txt" 2>&1

timeout $(( ${TRAIN_MIN%.*} * 60 + 150 )) python3 benchmarks/learning_check.py \
  --steps "$LC_STEPS" --device "$DEVICE" --threads 3 --out "$R/learning-check" \
  --time-limit-min "$TRAIN_MIN" \
  > "$R/learning_check.log" 2>&1 &
train() {  # name, policy, threads, eval_every
  python3 -m abnrl.cli train --policy "$2" --run-dir "$R/$1" --n-envs 32 --batch-size 256 \
    --device "$DEVICE" --threads "$3" --time-limit-min "$TRAIN_MIN" --eval-every "$4" \
    --checkpoint-every 250000 --no-progress > "$R/$1.log" 2>&1
}
train abn-ppo abn 9 1000000 &
train cnn-ppo cnn 4 0 &
wait
python3 -m abnrl.cli eval "$R/abn-ppo" --episodes "$EVAL_EPISODES" --device "$DEVICE" \
  --n-envs 16 > "$R/abn-ppo-eval.txt" 2>&1
# Only what later sessions need: resumable latest checkpoints, a slim best one.
rm -rf "$R/learning-check/checkpoints"
best="$R/abn-ppo/checkpoints/best.zip"
[ -f "$best" ] && python3 -c "import sys; from pathlib import Path; \
from abnrl.pretrained import slim_checkpoint; slim_checkpoint(Path(sys.argv[1]), Path(sys.argv[1]))" "$best"
tar -czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
split -b 15m "$OUT/results.tgz" "$OUT/results.tgz.part-" && rm "$OUT/results.tgz"
ls -la "$OUT"
