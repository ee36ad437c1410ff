# shellcheck shell=bash
# Sourced by compare_posteriors.sh and compare_calibration.sh: the posterior
# families they compare, and one family's training run, so that both scripts
# train exactly the same models.
#   for_each_family ONLY CALLBACK  calls `CALLBACK LABEL NAME FLAGS` for each
#                                  family ("planar K=10", planar, its flags);
#                                  ONLY (e.g. "planar iaf") picks some, empty: all
#   train_family DIR NAME FLAGS EPOCHS  trains it on dynamically binarized MNIST
#                                  (seed 1) into DIR/NAME, log in DIR/NAME.train.log
# Needs $vae and $data.
# shellcheck disable=SC2154  # vae and data come from the sourcing script

posterior_families=(
  "diagonal-gaussian|--posterior diagonal-gaussian"
  "planar K=10|--posterior planar --flow-steps 10"
  "iaf K=4|--posterior iaf --flow-steps 4"
)

for_each_family() {
  local only=$1 callback=$2 entry label flags name
  for entry in "${posterior_families[@]}"; do
    label=${entry%%|*}
    flags=${entry#*|}
    name=${label%% *}
    if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then continue; fi
    "$callback" "$label" "$name" "$flags"
  done
}

train_family() {
  local dir=$1 name=$2 flags=$3 epochs=$4
  # shellcheck disable=SC2086  # flags are words
  "$vae" train --data-dir "$data" --binarize dynamic --epochs "$epochs" --seed 1 --samples 0 \
    --overwrite $flags --out "$dir/$name" >"$dir/$name.train.log" 2>&1
}
