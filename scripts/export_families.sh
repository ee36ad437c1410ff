#!/usr/bin/env bash
# Exports trained runs of each posterior family, checks every export with
# Python (scripts/check_export.py) and encodes 10,000 PNG files with each
# exported encoder (issue 17 acceptance 4); prints a markdown table.
#   bash scripts/export_families.sh RUN_DIR...
# e.g. the runs of scripts/compare_posteriors.sh and categorical_mnist.sh:
#   bash scripts/export_families.sh runs/posteriors/{diagonal-gaussian,planar,iaf} runs/categorical
# Exports go to runs/exports/NAME; the PNG files (the MNIST test set) to
# runs/exports/png. Data from $MNIST_DIR or ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
vae=${VAE_BIN:-build/vae}
data=${MNIST_DIR:-../shared/data/mnist}
out=runs/exports
mkdir -p "$out"
if [ "$(find "$out/png" -name '*.png' 2>/dev/null | wc -l)" -ne 10000 ]; then
  rm -rf "$out/png"
  /usr/bin/python3 scripts/idx_to_png.py "$data/t10k-images-idx3-ubyte.gz" "$out/png" >/dev/null
fi
echo "| run | posterior | check_export.py | columns | images | encode s | images/s |"
echo "|---|---|---|---|---|---|---|"
for run in "$@"; do
  name=$(basename "$run")
  "$vae" export --checkpoint "$run/checkpoint.pt" --data-dir "$data" --out-dir "$out/$name" \
    >/dev/null
  family=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["architecture"]["posterior"])' \
    "$out/$name/model.json")
  if /usr/bin/python3 scripts/check_export.py "$out/$name" >"$out/$name.check.log" 2>&1; then
    check="passed ($(grep -c '^ok:' "$out/$name.check.log") checks)"
  else
    check="FAILED (see $out/$name.check.log)"
  fi
  start=$(date +%s.%N)
  "$vae" encode --encoder "$out/$name/encoder.pt" --out "$out/$name.csv" "$out/png" \
    2>"$out/$name.encode.log"
  seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" \
    "$start" "$(date +%s.%N)")
  rows=$(($(wc -l <"$out/$name.csv") - 1))
  columns=$(head -1 "$out/$name.csv" | tr ',' '\n' | sed -n '2,$p' | sed 's/_[0-9]*$//' | uniq |
    paste -sd' ')
  rate=$(python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):.0f}')" "$rows" "$seconds")
  echo "| $name | $family | $check | $columns | $rows | $seconds | $rate |"
done
