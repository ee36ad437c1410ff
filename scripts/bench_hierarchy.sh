#!/usr/bin/env bash
# Training speed of the two-stochastic-layer model (issue 18 item 6): vae
# train against the same model written in plain PyTorch
# (scripts/peers/pytorch_hierarchical_vae.py), run in turn (vae, Python, vae,
# Python, ...) so that a drift of the machine shows in both, for bottom-up
# and ladder inference. Each run trains EPOCHS epochs of the 60,000 images
# (batch 128, dynamic binarization, THREADS threads); the figure compared is
# the median training time of an epoch (vae's metrics.csv `seconds`, which
# excludes the test evaluation).
#   bash scripts/bench_hierarchy.sh [ROUNDS] [EPOCHS] [THREADS] [KERNEL] [HIDDEN] [READ_Z] [FEATURES]
# Defaults: 2 rounds, 2 epochs, 2 threads, no autoregressive decoder (KERNEL,
# HIDDEN: --autoregressive-kernel and --autoregressive-hidden of both, 7 and 8
# in models/nll.json; READ_Z 1: --autoregressive-gates-read-z; FEATURES:
# --autoregressive-features, with K' 5). Needs a built tree and
# python3-torch (scripts/setup.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
epochs=${2:-2}
threads=${3:-2}
kernel=${4:-0}
hidden=${5:-0}
read_z=()
if [ "${6:-0}" = 1 ]; then read_z=(--autoregressive-gates-read-z); fi
features=(--autoregressive-features "${7:-0}")
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=${BENCH_OUT:-bench-results/hierarchy}
mkdir -p "$out"
source scripts/lib/blas_kernels.sh
same_blas_kernels "$vae"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"
for inference in bottom-up ladder; do
  for round in $(seq "$rounds"); do
    "$vae" train --data-dir "$data" --binarize dynamic --epochs "$epochs" --seed "$round" \
      --samples 0 --test-size 1000 --threads "$threads" --hidden 200,200 --latent-layers 2 \
      --latent-dims 100,50 --layer-hidden 100,100 --inference "$inference" --overwrite \
      --autoregressive-kernel "$kernel" --autoregressive-hidden "$hidden" "${read_z[@]}" \
      "${features[@]}" \
      --out "$out/vae-$inference-$round" >"$out/vae-$inference-$round.log" 2>&1
    /usr/bin/python3 scripts/peers/pytorch_hierarchical_vae.py --data-dir "$data" \
      --epochs "$epochs" --threads "$threads" --seed "$round" --inference "$inference" \
      --autoregressive-kernel "$kernel" --autoregressive-hidden "$hidden" "${read_z[@]}" \
      "${features[@]}" \
      --json "$out/python-$inference-$round.json" >"$out/python-$inference-$round.log"
  done
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import csv, json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
print("| inference | vae s/epoch | PyTorch s/epoch | PyTorch / vae |")
print("|---|---|---|---|")
for inference in ("bottom-up", "ladder"):
    v = [float(r["seconds"]) for i in range(1, rounds + 1)
         for r in csv.DictReader(open(f"{out}/vae-{inference}-{i}/metrics.csv"))]
    p = [e["seconds"] for i in range(1, rounds + 1)
         for e in json.load(open(f"{out}/python-{inference}-{i}.json"))["epochs"]]
    mv, mp = statistics.median(v), statistics.median(p)
    print(f"| {inference} | {mv:.2f} | {mp:.2f} | {mp / mv:.2f}x |")
PY
