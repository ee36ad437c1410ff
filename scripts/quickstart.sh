#!/usr/bin/env bash
# The main job from a fresh clone: install packages, build, find MNIST (or
# fetch it), train the default VAE for 10 epochs and write sample images.
# Extra arguments go to `vae train` (e.g. --model conv --epochs 20).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/phase.sh
phase packages bash scripts/setup.sh
phase build bash scripts/build.sh

data=""
for dir in "${MNIST_DIR:-}" ../shared/data/mnist data/mnist; do
  if [ -n "$dir" ] && { [ -e "$dir/train-images-idx3-ubyte.gz" ] || [ -e "$dir/train-images-idx3-ubyte" ]; }; then
    data=$dir
    break
  fi
done
if [ -z "$data" ]; then
  bash scripts/get_mnist.sh
  data=data/mnist
fi

run=runs/quickstart
phase train ./build/vae train --data-dir "$data" --epochs 10 --out $run --overwrite "$@"
pictures() {
  ./build/vae reconstruct --checkpoint $run/checkpoint.pt --out $run/reconstructions.png &&
    ./build/vae traverse --checkpoint $run/checkpoint.pt --out $run/traversal.png &&
    ./build/vae scatter --checkpoint $run/checkpoint.pt --out $run/scatter.png &&
    /usr/bin/python3 scripts/plot_run.py $run
}
phase pictures pictures
export_encoder() {
  ./build/vae export --checkpoint $run/checkpoint.pt --out-dir models/quickstart &&
    /usr/bin/python3 scripts/check_export.py models/quickstart
}
phase export export_encoder
phase_summary "quickstart.sh"
echo "open $run/report.html; samples: $run/samples.png, metrics: $run/metrics.csv;"
echo "encoder for amortized inference: models/quickstart/encoder.pt (see README, vae encode)"
