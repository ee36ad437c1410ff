#!/usr/bin/env bash
# A preset's run stopped with SIGINT in the middle and resumed reaches the
# numbers of an uninterrupted one (issue 19, acceptance 3): EPOCHS epochs of
# the preset on the first TRAIN_SIZE training images, once straight through
# and once interrupted (Ctrl-C, SIGINT) half-way through its second epoch,
# then resumed. Compares metrics.csv without its timing columns,
# kl_per_dim.csv and a fixed-seed `vae eval` of the final checkpoints; exit 0
# when all agree.
# Usage: scripts/resume_check.sh [MODEL] [TRAIN_SIZE] [EPOCHS] [TRAIN FLAGS...]
# Defaults: nll, 6000 images, 3 epochs (1,000 of them held out for
# validation). Flags after EPOCHS go to both runs (e.g. --iwae-from-epoch 2,
# so that the interruption falls inside the preset's IWAE phase).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-nll}
train_size=${2:-6000}
epochs=${3:-3}
shift $(($# < 3 ? $# : 3))
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=${CHECK_OUT:-runs/resume-check}
mkdir -p "$out"
args=(--model "$model" --data-dir "$data" --train-size "$train_size" --valid-size 1000
      --epochs "$epochs" --eval-every 2 --samples 0 --log-interval 10 --overwrite "$@")
echo "== uninterrupted: $epochs epochs of --model $model on $train_size images"
"$vae" train "${args[@]}" --out "$out/straight" >"$out/straight.log" 2>&1
echo "== interrupted in epoch 2, then resumed"
"$vae" train "${args[@]}" --out "$out/resumed" >"$out/interrupted.log" 2>&1 &
pid=$!
# Half-way through epoch 2: wait for its progress line with a step count.
for _ in $(seq 1 6000); do
  grep -q "^epoch 2/$epochs step" "$out/interrupted.log" 2>/dev/null && break
  sleep 0.01
done
kill -INT "$pid"
status=0
wait "$pid" || status=$?
grep -q "stopped by SIGINT" "$out/interrupted.log" ||
  { echo "FAILED: the run did not stop on SIGINT (exit $status)"; tail -3 "$out/interrupted.log"; exit 1; }
tail -2 "$out/interrupted.log"
"$vae" train --resume --out "$out/resumed" >"$out/resumed.log" 2>&1
# Columns 13-14 and 15 are seconds, eval_seconds and images/s.
columns() { cut -d, -f1-12,16- "$1"; }
# The final models: `vae eval` (fixed seed) of each gives the same numbers
# only if their parameters agree.
for run in straight resumed; do
  "$vae" eval --checkpoint "$out/$run/checkpoint.pt" --data-dir "$data" --k 10 --test-size 200 \
    --out "$out/$run-eval.json" >/dev/null
done
same_eval() {
  /usr/bin/python3 -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
keys = ("log_px", "elbo", "log_px_se")
print("eval: " + ", ".join("%s %.6f / %.6f" % (k, a[k], b[k]) for k in keys))
sys.exit(0 if all(a[k] == b[k] for k in keys) else 1)' "$1" "$2"
}
if diff <(columns "$out/straight/metrics.csv") <(columns "$out/resumed/metrics.csv") &&
   diff "$out/straight/kl_per_dim.csv" "$out/resumed/kl_per_dim.csv" &&
   same_eval "$out/straight-eval.json" "$out/resumed-eval.json"; then
  echo "ok: metrics.csv (without timings), kl_per_dim.csv and the final models' evaluations are identical"
else
  echo "FAILED: the resumed run differs"
  exit 1
fi
