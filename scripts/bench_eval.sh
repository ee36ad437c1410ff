#!/usr/bin/env bash
# `vae eval` against the Python loop of scripts/peers/eval_loop.py (issue 19,
# point 3): for each run directory given, its checkpoint is exported, then
# both programs score the same statically binarized test images with the
# same k, alternating, --rounds times. Prints each round's seconds (the
# scoring alone, not the start-up), the ratio of the medians, and the two
# means of -L_k and their difference (independent draws on the same images:
# only Monte Carlo noise separates them).
# Usage: scripts/bench_eval.sh [--k 5000] [--test-size 300] [--rounds 3]
#            [--threads 2] RUN_DIR...
# Needs a built tree (scripts/build.sh) and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
k=5000
images=300
rounds=3
threads=2
runs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --k) k=$2; shift 2 ;;
    --test-size) images=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -*) echo "bench_eval.sh: unknown option $1" >&2; exit 2 ;;
    *) runs+=("$1"); shift ;;
  esac
done
[ ${#runs[@]} -gt 0 ] || { echo "usage: scripts/bench_eval.sh [options] RUN_DIR..." >&2; exit 2; }
data=${MNIST_DIR:-../shared/data/mnist}
vae=${VAE:-./build/vae}
out=${BENCH_OUT:-bench-results/eval}
mkdir -p "$out"
source scripts/lib/blas_kernels.sh
same_blas_kernels "$vae"
echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'); k = $k, $images images, $threads threads"
for run in "${runs[@]}"; do
  name=$(basename "$run")
  "$vae" export --checkpoint "$run/checkpoint.pt" --out-dir "$out/$name-export" >/dev/null
  for round in $(seq "$rounds"); do
    "$vae" eval --checkpoint "$run/checkpoint.pt" --data-dir "$data" --k "$k" \
      --test-size "$images" --binarize static --threads "$threads" \
      --out "$out/$name-vae-$round.json" >/dev/null
    /usr/bin/python3 scripts/peers/eval_loop.py "$out/$name-export" "$data" --k "$k" \
      --test-size "$images" --threads "$threads" --json "$out/$name-python-$round.json" >/dev/null
  done
  /usr/bin/python3 - "$out" "$name" "$rounds" <<'PY'
import json, statistics, sys
out, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
vae = [json.load(open(f"{out}/{name}-vae-{r}.json")) for r in range(1, rounds + 1)]
py = [json.load(open(f"{out}/{name}-python-{r}.json")) for r in range(1, rounds + 1)]
tv = [v["seconds"] for v in vae]
tp = [p["seconds"] for p in py]
print(f"== {name}: vae eval {', '.join(f'{t:.2f}' for t in tv)} s | Python loop "
      f"{', '.join(f'{t:.2f}' for t in tp)} s | median ratio {statistics.median(tp) / statistics.median(tv):.2f}x")
a, b = vae[0], py[0]
diff = a["neg_log_px"] - b["neg_log_px"]
print(f"   -L_k: vae {a['neg_log_px']:.3f} +- {a['log_px_se']:.3f}, Python {b['neg_log_px']:.3f} "
      f"+- {b['se']:.3f}; difference {diff:+.3f} nats")
PY
done
