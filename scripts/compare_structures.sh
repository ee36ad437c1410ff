#!/usr/bin/env bash
# Issue 18's comparison of generative structures on dynamically binarized
# MNIST, the same budget for each (EPOCHS epochs, seed 1, Burda et al. 2015's
# network sizes): one latent layer with N(0, I), one with the VampPrior
# (K = 500), two layers (784-[200,200]-100-[100,100]-50) inferred bottom-up
# and by the ladder, each also with a linear KL warm-up over a quarter of the
# run, bottom-up with free bits (the collapse monitor's comparison), one
# layer with the warm-up and two with the VampPrior on top and the warm-up
# (each against its one-layer counterpart). Prints a markdown table: test ELBO,
# L_k on the first N binarized test images (vae eval), the active units of
# each layer (kl_per_dim.csv, last epoch) and the training time per epoch;
# then each row's L_k minus the first row's, paired per image.
#   bash scripts/compare_structures.sh [EPOCHS] [K] [TEST_IMAGES]
# Defaults: 40 epochs, k = 1000, 2,000 images. LANES=2 trains two runs at a
# time with one thread each (2 cores); TRAIN=missing trains only the runs
# without a finished checkpoint. Runs go to runs/structures/NAME; data from
# $MNIST_DIR or ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-40}
k=${2:-1000}
test_images=${3:-2000}
lanes=${LANES:-1}
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=runs/structures
mkdir -p "$out"

one="--hidden 200,200 --latent-dim 50"
two="--hidden 200,200 --latent-layers 2 --latent-dims 100,50 --layer-hidden 100,100"
warmup=$((epochs * 469 / 4))  # a quarter of the run, 469 steps per epoch at batch 128
models=(
  "one-normal|1 layer, N(0, I)|$one"
  "one-vamp|1 layer, VampPrior K=500|$one --prior vamp --pseudo-inputs 500"
  "one-warmup|1 layer, N(0, I), KL warm-up|$one --kl-schedule linear --kl-warmup-steps $warmup"
  "two-bottom-up|2 layers, bottom-up|$two"
  "two-ladder|2 layers, ladder|$two --inference ladder"
  "two-ladder-warmup|2 layers, ladder, KL warm-up|$two --inference ladder --kl-schedule linear --kl-warmup-steps $warmup"
  "two-warmup|2 layers, bottom-up, KL warm-up|$two --kl-schedule linear --kl-warmup-steps $warmup"
  "two-free-bits|2 layers, bottom-up, free bits 0.1|$two --free-bits 0.1"
  "two-vamp-warmup|2 layers, bottom-up, VampPrior K=500, KL warm-up|$two --prior vamp --pseudo-inputs 500 --kl-schedule linear --kl-warmup-steps $warmup"
)

train() {
  local name=$1 flags=$2 threads=$3
  # shellcheck disable=SC2086  # flags are words
  "$vae" train --data-dir "$data" --binarize dynamic --epochs "$epochs" --seed 1 --samples 0 \
    --threads "$threads" --overwrite $flags --out "$out/$name" >"$out/$name.train.log" 2>&1
}
threads=$((lanes > 1 ? 1 : 0))
running=0
for entry in "${models[@]}"; do
  IFS='|' read -r name _ flags <<<"$entry"
  if [ "${TRAIN:-all}" = missing ] && grep -q "^done:" "$out/$name.train.log" 2>/dev/null; then
    continue
  fi
  train "$name" "$flags" "$threads" &
  running=$((running + 1))
  if ((running >= lanes)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

echo "| model | test ELBO | L_$k | gap | active units by layer | s/epoch |"
echo "|---|---|---|---|---|---|"
for entry in "${models[@]}"; do
  IFS='|' read -r name label _ <<<"$entry"
  "$vae" eval --checkpoint "$out/$name/checkpoint.pt" -k "$k" --test-size "$test_images" \
    --per-image "$out/$name.per_image.csv" --out "$out/$name.eval.json" >"$out/$name.eval.log" 2>&1
  python3 - "$out" "$name" "$label" <<'PY'
import csv, json, sys
out, name, label = sys.argv[1:]
e = json.load(open(f"{out}/{name}.eval.json"))
rows = list(csv.DictReader(open(f"{out}/{name}/metrics.csv")))
per_epoch = sum(float(r["seconds"]) for r in rows) / len(rows)
units = list(csv.DictReader(open(f"{out}/{name}/kl_per_dim.csv")))
last = [u for u in units if u["epoch"] == units[-1]["epoch"]]
if "layer" in last[0]:  # a hierarchy: each layer's units
    layers = sorted({int(u["layer"]) for u in last})
    active = " / ".join(
        f"{sum(int(u['active']) for u in last if int(u['layer']) == l)}"
        f" of {sum(1 for u in last if int(u['layer']) == l)}" for l in layers)
else:
    config = json.load(open(f"{out}/{name}/config.json"))
    active = f"{rows[-1]['active_units']} of {config['latent-dim']}"
print(f"| {label} | {e['elbo']:.2f} ± {e['elbo_se']:.2f} | {e['log_px']:.2f} ± {e['log_px_se']:.2f} "
      f"| {e['gap']:.2f} | {active} | {per_epoch:.1f} |")
PY
done
echo
echo "| model | L_$k − first row's | ELBO − first row's |"
echo "|---|---|---|"
rows=()
for entry in "${models[@]:1}"; do
  IFS='|' read -r name label _ <<<"$entry"
  rows+=("$name=$label")
done
python3 scripts/lib/paired_table.py "$out" one-normal "${rows[@]}"
echo
echo "| model | L_$k − counterpart's | ELBO − counterpart's |"
echo "|---|---|---|"
python3 scripts/lib/paired_table.py "$out" one-warmup \
  "two-warmup=2 layers, bottom-up, KL warm-up − 1 layer, KL warm-up"
python3 scripts/lib/paired_table.py "$out" one-vamp \
  "two-vamp-warmup=2 layers, bottom-up, VampPrior, KL warm-up − 1 layer, VampPrior"
