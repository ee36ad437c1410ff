#!/usr/bin/env bash
# The CUDA checks, in one bounded pass for a lent GPU machine (the `device`
# tool's `run`): build vae against the LibTorch inside that machine's PyTorch,
# train the nll preset on the GPU for TRAIN_SECONDS, evaluate a carried
# CPU-trained checkpoint there (its L_k should agree with the CPU's within
# the standard errors), check that two identical CUDA runs agree, then run
# the test suite on LibTorch 2.x's CPU path with whatever time is left.
#
# That machine has no Debian packages, so the dependencies travel in a
# bundle made here by scripts/device_bundle.sh (static OpenCV, header-only
# cxxopts and nlohmann-json, GoogleTest, zlib, MNIST). Usage, on the GPU
# machine, from the repository root:
#   OUT=/some/dir bash scripts/device_check.sh
# Environment: BUNDLE (.devbundle), DEADLINE_S (540: the whole pass; later
# stages are skipped when it is near), TRAIN_SECONDS (120), CHECKPOINT
# ($BUNDLE/checkpoint.pt when present), EVAL_K (5000), EVAL_IMAGES (2000).
set -uo pipefail

BUNDLE=${BUNDLE:-.devbundle}
OUT=${OUT:-/tmp/vae-device-check}
DEADLINE_S=${DEADLINE_S:-540}
TRAIN_SECONDS=${TRAIN_SECONDS:-120}
CHECKPOINT=${CHECKPOINT:-$BUNDLE/checkpoint.pt}
EVAL_K=${EVAL_K:-5000}
EVAL_IMAGES=${EVAL_IMAGES:-2000}
mkdir -p "$OUT"
start=$(date +%s)
log="$OUT/device.log"
exec > >(tee -a "$log") 2>&1

left() { echo $((DEADLINE_S - ($(date +%s) - start))); }
stage() { echo "=== [$(($(date +%s) - start)) s] $*"; }

stage "machine"
nvidia-smi -L || true
lscpu | grep -m1 'Model name' || true
nproc
g++ --version | head -1
cmake --version | head -1
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || exit 1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")'

stage "configure and build (LibTorch from $torch_prefix)"
jobs=$(nproc)
# Warnings are counted, not fatal: a new compiler's new warning should not
# cost the rest of the pass.
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DVAE_WERROR=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$PWD/$BUNDLE/prefix;$PWD/$BUNDLE/opencv" \
  >"$OUT/build.log" 2>&1 || {
  tail -40 "$OUT/build.log"
  exit 1
}
grep -E "^-- vae|CUDA|Torch" "$OUT/build.log" | head -20
# vae itself first: the GPU stages need only it; the tests are built after them.
if ! timeout "$(left)" cmake --build build-cuda -j"$jobs" --target vae >>"$OUT/build.log" 2>&1; then
  grep -E -B2 -A12 "error" "$OUT/build.log" | head -120
  exit 1
fi
stage "built; warnings: $(grep -c 'warning:' "$OUT/build.log")"
grep -E -A6 'warning:' "$OUT/build.log" | head -60
vae=build-cuda/vae
data=$BUNDLE/mnist
work=$(mktemp -d)

stage "the nll preset on the GPU for $TRAIN_SECONDS s"
timeout "$(left)" "$vae" train --model nll --data-dir "$data" --device cuda \
  --time-budget "${TRAIN_SECONDS}s" --out "$work/nll" | tail -25
cp "$work/nll/metrics.csv" "$OUT/nll_cuda_metrics.csv" 2>/dev/null

if [ -f "$CHECKPOINT" ] && [ "$(left)" -gt 60 ]; then
  stage "the carried CPU checkpoint evaluated on the GPU, k = $EVAL_K, first $EVAL_IMAGES test images"
  timeout "$(($(left) - 30))" "$vae" eval --checkpoint "$CHECKPOINT" --data-dir "$data" \
    --device cuda --k "$EVAL_K" --k-curve 1,50,500,"$EVAL_K" --test-size "$EVAL_IMAGES" \
    --out "$OUT/eval_cuda.json"
  cat "$OUT/eval_cuda.json" 2>/dev/null
fi

if [ "$(left)" -gt 60 ]; then
  stage "same seed, same flags, twice on the GPU (default MLP, 2 epochs, 10,000 images)"
  for r in a b; do
    timeout 60 "$vae" train --data-dir "$data" --device cuda --epochs 2 --train-size 10000 \
      --test-size 2000 --out "$work/$r" >/dev/null
  done
  # every column but the timings (seconds, eval_seconds, images_per_s, allreduce_ms)
  if cmp <(cut -d, -f1-12,16,18- "$work/a/metrics.csv") <(cut -d, -f1-12,16,18- "$work/b/metrics.csv"); then
    echo "identical runs: metrics.csv agrees except timings"
  else
    echo "identical runs DIFFER:"
    paste -d'\n' "$work/a/metrics.csv" "$work/b/metrics.csv"
  fi
  stage "export from CUDA, load in Python's torch"
  "$vae" export --checkpoint "$work/a/checkpoint.pt" --out-dir "$work/export-mlp" >/dev/null &&
    python3 scripts/check_export.py "$work/export-mlp" 2>&1 | tail -4
  if [ -f "$CHECKPOINT" ]; then
    "$vae" export --checkpoint "$CHECKPOINT" --data-dir "$data" --out-dir "$work/export-nll" >/dev/null &&
      python3 scripts/check_export.py "$work/export-nll" 2>&1 | tail -4
  fi
  "$vae" sample --checkpoint "$work/a/checkpoint.pt" --device cuda --out "$OUT/samples_cuda.png"
fi

if [ "$(left)" -gt 90 ]; then
  stage "build the tests"
  timeout "$(($(left) - 30))" cmake --build build-cuda -j"$jobs" >>"$OUT/build.log" 2>&1 ||
    grep -E -B2 -A12 "error" "$OUT/build.log" | head -80
  echo "warnings in the whole build: $(grep -c 'warning:' "$OUT/build.log")"
fi
if [ "$(left)" -gt 45 ] && [ -x build-cuda/tests/vae_tests ]; then
  stage "the test suite on LibTorch 2.x's CPU path ($(left) s left)"
  (cd build-cuda && CUDA_VISIBLE_DEVICES='' MNIST_DIR="$PWD/../$data" \
    timeout "$(($(left) - 15))" ctest -j"$jobs" --timeout 300 >"$OUT/ctest.log" 2>&1)
  echo "ctest exit $?"
  grep -E "tests passed|Failed|\*\*\*|Timeout|Not Run" "$OUT/ctest.log" | head -40
fi
stage "done"
