#!/usr/bin/env bash
# Trains the same VAE with each posterior family on dynamically binarized
# MNIST (same seed, same network sizes) and prints a markdown table of the
# test ELBO, L_k and the gap (vae eval on the first N binarized test images)
# and the training time per epoch, then each family's L_k and ELBO minus the
# diagonal Gaussian's with the standard error of the paired (per-image)
# differences: the rows score the same images, so the paired error is the
# one that says whether a difference is real.
#   bash scripts/compare_posteriors.sh [EPOCHS] [K] [TEST_IMAGES]
# Defaults: 20 epochs, k = 1000, 2,000 images (issue 17's acceptance run).
# Runs go to runs/posteriors/NAME; data from $MNIST_DIR or ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-20}
k=${2:-1000}
test_images=${3:-2000}
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=runs/posteriors
mkdir -p "$out"

source scripts/lib/posterior_families.sh

echo "| posterior | test ELBO | L_$k | gap | s/epoch |"
echo "|---|---|---|---|---|"
score_family() {
  local label=$1 name=$2 flags=$3
  train_family "$out" "$name" "$flags" "$epochs"
  "$vae" eval --checkpoint "$out/$name/checkpoint.pt" -k "$k" --test-size "$test_images" \
    --per-image "$out/$name.per_image.csv" --out "$out/$name.eval.json" >"$out/$name.eval.log" 2>&1
  python3 - "$out/$name.eval.json" "$out/$name/metrics.csv" "$label" <<'PY'
import csv, json, sys
e = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
per_epoch = sum(float(r["seconds"]) for r in rows) / len(rows)
print(f"| {sys.argv[3]} | {e['elbo']:.2f} ± {e['elbo_se']:.2f} | {e['log_px']:.2f} ± {e['log_px_se']:.2f} "
      f"| {e['gap']:.2f} | {per_epoch:.1f} |")
PY
}
for_each_family "" score_family
echo
echo "| posterior | L_$k − diagonal's | ELBO − diagonal's |"
echo "|---|---|---|"
rows=()
for entry in "${posterior_families[@]:1}"; do
  label=${entry%%|*}
  rows+=("${label%% *}=$label")
done
python3 scripts/lib/paired_table.py "$out" diagonal-gaussian "${rows[@]}"
