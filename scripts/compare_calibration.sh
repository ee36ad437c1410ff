#!/usr/bin/env bash
# Trains the default MLP with each posterior family on dynamically binarized
# MNIST (same seed, same sizes) and runs `vae calibrate` on each: a markdown
# table of the verdicts per unit, the units whose rank ECDF leaves the 95 %
# simultaneous band, the coverage areas (per-unit central intervals, joint
# highest-density region, test pixels' posterior predictive), the pixel
# probabilities' expected calibration error and the seconds calibrate took.
#   bash scripts/compare_calibration.sh [EPOCHS] [SIMULATIONS] [NAMES]
# Defaults: 10 epochs, 1,000 simulations (issue 20's acceptance run), every
# family; NAMES (e.g. "diagonal-gaussian iaf") picks some.
# Runs go to runs/calibration/NAME; data from $MNIST_DIR or ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-10}
simulations=${2:-1000}
only=${3:-}
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=runs/calibration
mkdir -p "$out"

source scripts/lib/posterior_families.sh

echo "| posterior | test −ELBO | verdicts (of 20 units) | outside ECDF band | coverage area: units / joint / pixels | pixel ECE | calibrate s |"
echo "|---|---|---|---|---|---|---|"
calibrate_family() {
  local label=$1 name=$2 flags=$3
  train_family "$out" "$name" "$flags" "$epochs"
  local start end
  start=$(date +%s.%N)
  "$vae" calibrate --checkpoint "$out/$name/checkpoint.pt" --simulations "$simulations" \
    --data-dir "$data" --out "$out/$name/calibration" >"$out/$name.calibrate.log" 2>&1
  end=$(date +%s.%N)
  python3 - "$out/$name/calibration/calibration.json" "$out/$name/metrics.csv" "$label" \
    "$start" "$end" <<'PY'
import csv, json, sys
r = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
cov = r["coverage"]
pred = r["predictive"]
ece = pred["reliability"]["expected_calibration_error"]
print(f"| {sys.argv[3]} | {float(rows[-1]['test_neg_elbo']):.2f} | {r['verdicts']} "
      f"| {r['ecdf_band']['units_outside']} "
      f"| {cov['per-unit central intervals']['area']:.4f} / "
      f"{cov['joint highest-density region']['area']:.4f} / {pred['coverage']['area']:.4f} "
      f"| {ece:.4f} | {float(sys.argv[5]) - float(sys.argv[4]):.1f} |")
PY
}
for_each_family "$only" calibrate_family
