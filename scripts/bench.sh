#!/usr/bin/env bash
# The performance comparison of README's "Performance" section, in one run:
#   1. vae bench --baseline: the default MLP's training epoch with vae's step
#      (hand-derived gradient + fused Adam, products on oneDNN) and with the
#      plain LibTorch step (autograd + LibTorch's Adam, the same data
#      pipeline), timed in turn, the matrix products alone (on oneDNN and on
#      LibTorch's BLAS), evaluation, encoding, peak memory;
#   2. the PyTorch example's way of training the same model, in Python;
#   3. vae bench again, so that a drift of the machine shows.
# Usage: scripts/bench.sh [--threads N] [--epochs-python N]
# Needs a built tree (scripts/build.sh); installs python3-torchvision.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
py_epochs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --epochs-python) py_epochs=$2; shift 2 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
data=${MNIST_DIR:-../shared/data/mnist}
VAE_SETUP_EXTRA="python3-torchvision" bash scripts/setup.sh >/dev/null
out=${BENCH_OUT:-bench-results}
mkdir -p "$out"
source scripts/lib/blas_kernels.sh
same_blas_kernels ./build/vae
echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo "== vae bench --baseline (threads $threads)"
./build/vae bench --data-dir "$data" --threads "$threads" --baseline --repeats 5 --json "$out/vae-1.json"
echo "== PyTorch example's training loop, Python (threads $threads)"
/usr/bin/python3 scripts/peers/pytorch_example_vae.py --data-dir "$data" --threads "$threads" \
  --epochs "$py_epochs" --json "$out/python.json"
echo "== vae bench again"
./build/vae bench --data-dir "$data" --threads "$threads" --baseline --repeats 5 --json "$out/vae-2.json"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = [json.load(open(f"{out}/vae-{i}.json")) for i in (1, 2)]
py = json.load(open(f"{out}/python.json"))["median_seconds"]
print("== summary (seconds of training per epoch of 60,000 images)")
for i, r in enumerate(runs, 1):
    t, b, m = r["train"]["epoch_seconds"], r["baseline"]["epoch_seconds"], r["matmul"]["epoch_seconds"]
    blas = r["matmul"]["libtorch_blas_epoch_seconds"] or m  # the same library when --gemm libtorch
    print(f"run {i}: vae {t:.3f} | plain LibTorch {b:.3f} ({b / t:.2f}x) | PyTorch example {py:.3f} "
          f"({py / t:.2f}x) | products alone: vae's GEMM {m:.3f}, LibTorch's BLAS {blas:.3f} "
          f"| eval {r['eval']['seconds']:.3f} | peak RSS {r['peak_rss_bytes'] / 1e6:.0f} MB")
PY
