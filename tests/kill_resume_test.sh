#!/usr/bin/env bash
# Crash safety: kill -9 at random moments of a short training run, then
# --resume (a run killed before its first checkpoint starts again), twice per
# trial, then let it finish: the final metrics.csv and kl_per_dim.csv must
# equal those of an uninterrupted run. Every third trial pauses file writes
# half-way (VAE_TEST_WRITE_PAUSE_MS) and kills while checkpoint.pt's
# temporary file is being written.
# usage: kill_resume_test.sh PATH/TO/vae [TRIALS] [MNIST_DIR]
set -uo pipefail
vae=$(realpath "$1")
trials=${2:-20}
mnist=$(realpath "${3:-${MNIST_DIR:-$(dirname "$0")/../../shared/data/mnist}}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
RANDOM=20261122  # the same schedule of kills every time
args=(--data-dir "$mnist" --train-size 3000 --test-size 300 --batch-size 100 --hidden 64
      --latent-dim 4 --threads 1 --samples 0 --epochs 4 --binarize dynamic)
"$vae" train "${args[@]}" --out reference >/dev/null 2>&1 || { echo "FAILED: reference run"; exit 1; }

failed=0
during_write=0
for trial in $(seq 1 "$trials"); do
  dir=run$trial
  for kill_round in 1 2; do
    if [ -f "$dir/checkpoint.pt" ]; then cmd=(train --resume --out "$dir"); else cmd=(train "${args[@]}" --out "$dir"); fi
    if [ $((trial % 3)) -eq 0 ] && [ "$kill_round" -eq 1 ]; then
      # Kill inside the write of a checkpoint.
      VAE_TEST_WRITE_PAUSE_MS=400 "$vae" "${cmd[@]}" >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 1 2000); do
        compgen -G "$dir/checkpoint.pt.tmp.*" >/dev/null && break
        sleep 0.005
      done
      compgen -G "$dir/checkpoint.pt.tmp.*" >/dev/null && during_write=$((during_write + 1))
    else
      "$vae" "${cmd[@]}" >/dev/null 2>&1 &
      pid=$!
      sleep "$((RANDOM % 1600 + 200))e-3"
    fi
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [ -f "$dir/checkpoint.pt" ]; then cmd=(train --resume --out "$dir"); else cmd=(train "${args[@]}" --out "$dir"); fi
  if ! "$vae" "${cmd[@]}" >"$dir.log" 2>&1; then
    failed=$((failed + 1))
    echo "FAILED: trial $trial: the final run failed: $(tail -2 "$dir.log")"
    continue
  fi
  if diff <(cut -d, -f1-12 reference/metrics.csv) <(cut -d, -f1-12 "$dir/metrics.csv") >/dev/null &&
     diff reference/kl_per_dim.csv "$dir/kl_per_dim.csv" >/dev/null &&
     ! compgen -G "$dir/*.tmp.*" >/dev/null; then
    echo "ok: trial $trial"
  else
    failed=$((failed + 1))
    echo "FAILED: trial $trial differs: $(diff <(cut -d, -f1-12 reference/metrics.csv) <(cut -d, -f1-12 "$dir/metrics.csv") | head -4) $(ls "$dir")"
  fi
done
echo "$trials trials, $during_write killed while writing a checkpoint, $failed failed"
[ "$failed" -eq 0 ] && [ "$during_write" -ge $((trials / 3)) ]
