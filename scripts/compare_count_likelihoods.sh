#!/usr/bin/env bash
# scikit-learn's 8x8 digits (counts 0..16, scripts/get_digits.py) under the
# Poisson and the binomial (16 trials) likelihood: the same network, seed and
# split (10 % test), then vae eval with k = 1000 and the paired per-image
# difference of log p(x) (the same test images, so the paired standard error
# says whether the difference is real). A markdown table on stdout.
#   bash scripts/compare_count_likelihoods.sh [DIGITS_DIR] [EPOCHS]
# Defaults: digits (written by get_digits.py when missing), 300 epochs.
set -euo pipefail
cd "$(dirname "$0")/.."
digits=${1:-digits}
epochs=${2:-300}
vae=${VAE_BIN:-build/vae}
out=runs/counts
mkdir -p "$out"
if [ ! -d "$digits" ]; then
  # scikit-learn ships the digits; installed for this script alone.
  /usr/bin/python3 -c "import sklearn" 2>/dev/null || VAE_SETUP_EXTRA=python3-sklearn bash scripts/setup.sh
  /usr/bin/python3 scripts/get_digits.py "$digits"
fi
flags=(--data-dir "$digits" --epochs "$epochs" --hidden 128 --latent-dim 8 --batch-size 64
       --seed 1 --samples 64 --overwrite)
echo "| likelihood | test −ELBO | −log p(x) (L_1000) | bits/dim | active units |"
echo "|---|---|---|---|---|"
for entry in "poisson|--likelihood poisson" "binomial N=16|--likelihood binomial --trials 16"; do
  label=${entry%%|*}
  name=${label%% *}
  # shellcheck disable=SC2086  # the flags are words
  "$vae" train "${flags[@]}" ${entry#*|} --out "$out/$name" >"$out/$name.train.log" 2>&1
  "$vae" eval --checkpoint "$out/$name/checkpoint.pt" -k 1000 --per-image "$out/$name.per_image.csv" \
    --out "$out/$name.eval.json" >"$out/$name.eval.log" 2>&1
  python3 - "$out/$name.eval.json" "$out/$name/metrics.csv" "$label" <<'PY'
import csv, json, sys
e = json.load(open(sys.argv[1]))
last = list(csv.DictReader(open(sys.argv[2])))[-1]
print(f"| {sys.argv[3]} | {-e['elbo']:.2f} ± {e['elbo_se']:.2f} | {-e['log_px']:.2f} ± {e['log_px_se']:.2f} "
      f"| {e['bits_per_dim']:.3f} | {last['active_units']} |")
PY
done
echo
echo "| likelihood | log p(x) − poisson's | ELBO − poisson's |"
echo "|---|---|---|"
python3 scripts/lib/paired_table.py "$out" poisson "binomial=binomial N=16"
