#!/usr/bin/env bash
# --batch-size auto against fixed batches of 128 and 1024 (issue 20's
# acceptance 3): the default MLP on MNIST, same seed, EPOCHS epochs each, in
# ROUNDS rounds whose order rotates (128, 1024, auto; then 1024, auto, 128;
# ...) so that a slow spell of the machine hits every setting alike. Then
# scripts/plot_batch_sizes.py prints the table (time to reach each fixed
# run's final test -ELBO) and draws runs/batch-sizes/batch_sizes.png.
#   bash scripts/compare_batch_sizes.sh [EPOCHS] [ROUNDS] [-- AUTO FLAGS]
# Defaults: 10 epochs, 3 rounds. Flags after -- go to the auto runs (e.g.
# -- --norm-test-theta 1.2). Nothing else should run meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-10}
rounds=${2:-3}
shift $(($# < 2 ? $# : 2))
[ "${1:-}" = "--" ] && shift
auto_flags=("$@")
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=runs/batch-sizes
mkdir -p "$out"

names=(128 1024 auto)
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < 3; i++)); do
    name=${names[$(((i + r - 1) % 3))]}
    flags=(--batch-size "$name")
    [ "$name" = auto ] && flags+=("${auto_flags[@]}")
    echo "round $r/$rounds: --batch-size $name" >&2
    "$vae" train --data-dir "$data" --epochs "$epochs" --seed 1 --samples 0 --overwrite \
      "${flags[@]}" --out "$out/$name-r$r" >"$out/$name-r$r.log" 2>&1
  done
done
lscpu | sed -n 's/^Model name: *//p' >"$out/cpu.txt"
/usr/bin/python3 scripts/plot_batch_sizes.py "$out"
