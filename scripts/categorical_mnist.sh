#!/usr/bin/env bash
# Issue 17's categorical run: 30 categorical variables of 10 categories on
# dynamically binarized MNIST (Jang et al. 2017's setting, 784-512-256
# networks), 20 epochs with the Gumbel-softmax temperature annealed from 1.0
# to 0.5 (tau = max(0.5, exp(-1e-4 step)): the floor from step 6,932, in
# epoch 15), then L_k with exact one-hot draws on the first N test images,
# the traversal by category, a scatter plot and the report.
#   bash scripts/categorical_mnist.sh [EPOCHS] [K] [TEST_IMAGES]
# Defaults: 20 epochs, k = 1000, 2,000 images. Output in runs/categorical;
# data from $MNIST_DIR or ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-20}
k=${2:-1000}
test_images=${3:-2000}
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
run=runs/categorical
"$vae" train --data-dir "$data" --binarize dynamic --epochs "$epochs" --seed 1 --overwrite \
  --posterior categorical --categorical-vars 30 --categories 10 --hidden 512,256 \
  --tau-start 1.0 --tau-min 0.5 --tau-anneal-rate 1e-4 --out "$run"
"$vae" eval --checkpoint "$run/checkpoint.pt" -k "$k" --k-curve "1,10,100,$k" \
  --test-size "$test_images" --out "$run/eval.json"
"$vae" traverse --checkpoint "$run/checkpoint.pt" --data-dir "$data" --index 0 \
  --out "$run/traversal.png"
"$vae" scatter --checkpoint "$run/checkpoint.pt" --data-dir "$data" --out "$run/scatter.png"
/usr/bin/python3 scripts/plot_run.py "$run"
