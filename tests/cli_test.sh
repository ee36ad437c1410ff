#!/usr/bin/env bash
# End-to-end tests of the `vae` command line: every bad input gives exactly one
# line "vae: error: ..." on stderr and a non-zero exit; a run killed with
# kill -9 resumes to the numbers of an uninterrupted run.
# usage: cli_test.sh PATH/TO/vae [MNIST_DIR]
set -uo pipefail
vae=$(realpath "$1")
src=$(realpath "$(dirname "$0")/..")
mnist=$(realpath "${2:-${MNIST_DIR:-$(dirname "$0")/../../shared/data/mnist}}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAILED: $1"; }

# expect_error NAME PATTERN CMD...: non-zero exit, one stderr line matching PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$work/err")
  if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q "^vae: error: .*$pattern" "$work/err"; then
    pass "$name"
  else
    fail "$name (exit $rc, $lines stderr lines: $(head -c 400 "$work/err"))"
  fi
}

small=(--data-dir "$mnist" --train-size 2000 --test-size 200 --hidden 64 --latent-dim 4
       --threads 1 --samples 0)

# Flags.
expect_error "negative batch size" "--batch-size must be at least 1, not -1" \
  "$vae" train --batch-size -1 --data-dir "$mnist"
# cxxopts quotes the name with U+2018/U+2019 (3 bytes each in UTF-8); outside a
# UTF-8 locale (a slim container has no LANG) grep sees bytes, so match any
# non-blank run around the name rather than one character.
expect_error "batch size neither a number nor auto" \
  "--batch-size must be an integer or auto, not '12x'" "$vae" train --batch-size 12x
expect_error "batch minimum above the maximum" "--batch-min (512) must not exceed --batch-max (256)" \
  "$vae" train --batch-size auto --batch-min 512 --batch-max 256 --data-dir "$mnist"
expect_error "adaptive batch in a data-parallel run" "--batch-size auto trains in one process" \
  "$vae" train --batch-size auto --world-size 2 --rank 0 --data-dir "$mnist"
expect_error "unknown flag" "Option [^ ]*bogus[^ ]* does not exist" "$vae" train --bogus 3
expect_error "bad number" "" "$vae" train --epochs ten
expect_error "bad choice" "--kl-schedule must be constant, linear, sigmoid or cyclical" \
  "$vae" train --kl-schedule cosine
expect_error "unknown preset" "unknown model preset 'nope'" "$vae" train --model nope
expect_error "unknown command" "unknown command 'trian'" "$vae" trian
expect_error "stray argument" "unexpected argument 'extra'" "$vae" train extra

# Data files.
mkdir -p data
cp "$mnist"/*.gz data/
expect_error "missing data directory" "missing data file /nonexistent/train-images-idx3-ubyte.gz" \
  "$vae" train --data-dir /nonexistent
head -c 3000000 "$mnist/train-images-idx3-ubyte.gz" >data/train-images-idx3-ubyte.gz
expect_error "truncated train images" "train-images-idx3-ubyte.gz: truncated gzip stream" \
  "$vae" train --data-dir data --out run-truncated
cp "$mnist/train-images-idx3-ubyte.gz" data/
# Labels with the magic number of an images file (3 dimensions).
printf '\x00\x00\x08\x03' | cat - <(gzip -dc "$mnist/train-labels-idx1-ubyte.gz" | tail -c +5) |
  gzip >data/train-labels-idx1-ubyte.gz
expect_error "labels with a wrong header" "train-labels-idx1-ubyte.gz: IDX header declares sizes 60000x" \
  "$vae" train --data-dir data --out run-labels
printf 'GARBAGE!' | cat - <(gzip -dc "$mnist/train-labels-idx1-ubyte.gz" | tail -c +9) |
  gzip >data/train-labels-idx1-ubyte.gz
expect_error "labels with a wrong magic number" "train-labels-idx1-ubyte.gz: wrong magic number 0x47415242" \
  "$vae" train --data-dir data --out run-magic
cp "$mnist/train-labels-idx1-ubyte.gz" data/

# Runs and checkpoints.
expect_error "resume without a run" "no checkpoint at nothing-here/checkpoint.pt" \
  "$vae" train --resume --out nothing-here
"$vae" train "${small[@]}" --epochs 1 --out run-a >/dev/null 2>&1 || fail "a small run failed"
expect_error "refuses to overwrite a run" "run-a already holds a run" \
  "$vae" train "${small[@]}" --epochs 1 --out run-a
expect_error "resume cannot change the model" "--latent-dim cannot change on --resume" \
  "$vae" train --resume --out run-a --latent-dim 9
head -c 20000 run-a/checkpoint.pt >run-a/cut.pt && mv run-a/cut.pt run-a/checkpoint.pt
expect_error "truncated checkpoint" "checkpoint run-a/checkpoint.pt is truncated or corrupt" \
  "$vae" train --resume --out run-a --epochs 2

# kill -9 during epoch 3 of 4, then --resume: the same numbers as a run that
# was never interrupted (time columns excepted).
long=("${small[@]}" --train-size 30000 --epochs 4 --binarize dynamic --kl-schedule cyclical)
"$vae" train "${long[@]}" --out run-whole >/dev/null 2>&1 || fail "uninterrupted run failed"
"$vae" train "${long[@]}" --out run-killed >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 3000); do
  [ -f run-killed/metrics.csv ] && [ "$(wc -l <run-killed/metrics.csv)" -ge 3 ] && break
  sleep 0.01
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
rows=$(($(wc -l <run-killed/metrics.csv) - 1))
if [ "$rows" -ge 2 ] && [ "$rows" -lt 4 ]; then pass "killed after $rows epochs"; else fail "kill timing ($rows epochs done)"; fi
"$vae" train --resume --out run-killed >/dev/null 2>&1 || fail "resume failed"
if diff <(cut -d, -f1-12 run-whole/metrics.csv) <(cut -d, -f1-12 run-killed/metrics.csv) >/dev/null &&
   diff run-whole/kl_per_dim.csv run-killed/kl_per_dim.csv >/dev/null; then
  pass "resume after kill -9 matches the uninterrupted run"
else
  fail "resume after kill -9 differs: $(diff <(cut -d, -f1-12 run-whole/metrics.csv) <(cut -d, -f1-12 run-killed/metrics.csv))"
fi

# Pictures of a trained run (issue 3): each command writes a PNG; the same
# seed gives the same bytes; the per-epoch snapshots and the report exist.
png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }
ck=run-whole/checkpoint.pt
for view in "sample --n 16" "sample --mode sample --temperature 0.8" "reconstruct --n 8 --labels" \
            "interpolate --from 3 --to 4 --spherical" "traverse --index 2" "manifold --n 5" \
            "scatter --pca" "scatter"; do
  out="view-${view%% *}.png"
  if "$vae" $view --checkpoint $ck --out "$out" >/dev/null 2>"$work/err" && png "$out"; then
    pass "vae $view"
  else
    fail "vae $view: $(cat "$work/err")"
  fi
done
"$vae" sample --checkpoint $ck --seed 5 --out s1.png >/dev/null && "$vae" sample --checkpoint $ck --seed 5 --out s2.png >/dev/null
"$vae" sample --checkpoint $ck --seed 6 --out s3.png >/dev/null
if cmp -s s1.png s2.png && ! cmp -s s1.png s3.png; then pass "sample is deterministic per seed"; else fail "sample determinism"; fi
if png run-whole/images/epoch_001.png && png run-whole/images/epoch_004.png; then
  pass "per-epoch snapshots"
else
  fail "per-epoch snapshots missing"
fi
if /usr/bin/python3 "$src/scripts/plot_run.py" run-whole >"$work/out" 2>&1; then
  grep -q "report.html: 4 images, 0 bad" "$work/out" && pass "report.html with every image" || fail "report: $(cat "$work/out")"
else
  fail "plot_run.py: $(cat "$work/out")"
fi
cp run-whole/report.html run-whole/report.saved && rm run-whole/plots/collapse.png
if /usr/bin/python3 "$src/scripts/plot_run.py" run-whole --check >/dev/null 2>&1; then
  fail "the report check missed a deleted image"
else
  pass "the report check notices a missing image"
fi
expect_error "picture without a checkpoint" "needs --checkpoint" "$vae" sample
expect_error "picture of a missing checkpoint" "cannot read checkpoint nowhere.pt: no such file" \
  "$vae" sample --checkpoint nowhere.pt
expect_error "picture of a corrupt checkpoint" "is truncated or corrupt" \
  "$vae" reconstruct --checkpoint run-a/checkpoint.pt
expect_error "picture of another architecture" "holds a model with latent-dim 4, not 9" \
  "$vae" manifold --checkpoint $ck --latent-dim 9
expect_error "picture of another arch" 'holds a model with arch "mlp", not "conv"' \
  "$vae" sample --checkpoint $ck --arch conv

# Flow posteriors: bad settings, and a checkpoint given to another family.
expect_error "no flow steps" "--flow-steps must be at least 1, not 0" \
  "$vae" train "${small[@]}" --posterior planar --flow-steps 0 --out flow-bad
expect_error "negative iaf width" "--iaf-hidden must be at least 1, not -3" \
  "$vae" train "${small[@]}" --posterior iaf --iaf-hidden -3 --out flow-bad
expect_error "free bits of a flow" "--free-bits needs the KL per dimension" \
  "$vae" train "${small[@]}" --posterior planar --free-bits 0.5 --out flow-bad
"$vae" train "${small[@]}" --epochs 1 --posterior planar --flow-steps 2 --out run-planar \
  >/dev/null 2>&1 || fail "a planar run failed"
expect_error "resume as another family" "--posterior cannot change on --resume" \
  "$vae" train --resume --out run-planar --posterior iaf
expect_error "picture of another family" 'holds a model with posterior "planar", not "iaf"' \
  "$vae" sample --checkpoint run-planar/checkpoint.pt --posterior iaf
"$vae" traverse --checkpoint run-planar/checkpoint.pt --out planar-traverse.png >/dev/null 2>&1 &&
  [ -s planar-traverse.png ] || fail "traverse of a planar run"
"$vae" export --checkpoint run-planar/checkpoint.pt --out-dir planar-model >/dev/null 2>&1 &&
  "$vae" encode --encoder planar-model/encoder.pt --samples 10 --out planar.csv \
    "$mnist/t10k-images-idx3-ubyte.gz" 2>/dev/null &&
  head -1 planar.csv | grep -q '^name,mean_0,mean_1,mean_2,mean_3,std_0' &&
  [ "$(wc -l <planar.csv)" -eq 10001 ] || fail "export and encode of a planar run"
expect_error "one draw for a standard deviation" "--samples must be at least 2" \
  "$vae" encode --encoder planar-model/encoder.pt --samples 1 "$mnist/t10k-images-idx3-ubyte.gz"
# Categorical latents: bad settings (issue 17 acceptance 5). The code's
# width follows from the variables and categories: no --latent-dim.
cat_small=(--data-dir "$mnist" --train-size 2000 --test-size 200 --hidden 64 --threads 1
           --samples 0)
expect_error "one category" "--categories must be at least 2, not 1" \
  "$vae" train "${cat_small[@]}" --posterior categorical --categories 1 --out cat-bad
expect_error "tau floor above the start" "--tau-min (0.900000) must not exceed --tau-start (0.500000)" \
  "$vae" train "${cat_small[@]}" --posterior categorical --tau-start 0.5 --tau-min 0.9 --out cat-bad
expect_error "straight-through on a Gaussian" \
  "--gumbel-hard needs --posterior categorical, not diagonal-gaussian" \
  "$vae" train "${small[@]}" --gumbel-hard --out cat-bad
"$vae" train "${cat_small[@]}" --epochs 1 --posterior categorical --categorical-vars 3 --categories 4 \
  --out run-cat >/dev/null 2>&1 || fail "a categorical run failed"
grep -q ',tau$' run-cat/metrics.csv || fail "metrics.csv of a categorical run has no tau column"
"$vae" traverse --checkpoint run-cat/checkpoint.pt --out cat-traverse.png >/dev/null 2>&1 &&
  [ -s cat-traverse.png ] || fail "traverse of a categorical run"
expect_error "manifold of a categorical run" "the manifold sweeps two continuous dimensions" \
  "$vae" manifold --checkpoint run-cat/checkpoint.pt
"$vae" export --checkpoint run-cat/checkpoint.pt --out-dir cat-model >/dev/null 2>&1 &&
  "$vae" encode --encoder cat-model/encoder.pt --format jsonl --out cat.jsonl \
    "$mnist/t10k-images-idx3-ubyte.gz" 2>/dev/null &&
  head -1 cat.jsonl | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); sys.exit(not (len(r["p"]) == 12 and len(r["category"]) == 3))' ||
  fail "export and encode of a categorical run"
expect_error "categorical picture as a Gaussian" \
  'holds a model with posterior "categorical", not "diagonal-gaussian"' \
  "$vae" sample --checkpoint run-cat/checkpoint.pt --posterior diagonal-gaussian
# Learned priors (issue 18): bad settings, the pseudo-input picture.
expect_error "no pseudo-inputs" "--pseudo-inputs must be at least 1, not 0" \
  "$vae" train "${small[@]}" --prior vamp --pseudo-inputs 0 --out prior-bad
expect_error "vamp on a flow" "--prior vamp needs --posterior diagonal-gaussian" \
  "$vae" train "${small[@]}" --prior vamp --posterior planar --out prior-bad
"$vae" train "${small[@]}" --epochs 1 --prior vamp --pseudo-inputs 8 --out run-vamp \
  >/dev/null 2>&1 || fail "a vamp run failed"
"$vae" pseudo-inputs --checkpoint run-vamp/checkpoint.pt --out vamp-pseudo.png >/dev/null 2>&1 &&
  [ -s vamp-pseudo.png ] || fail "pseudo-inputs picture of a vamp run"
expect_error "vamp checkpoint as another prior" 'holds a model with prior "vamp", not "mog"' \
  "$vae" sample --checkpoint run-vamp/checkpoint.pt --prior mog
expect_error "pseudo-inputs of another prior" "has no pseudo-inputs" \
  "$vae" pseudo-inputs --checkpoint run-planar/checkpoint.pt
expect_error "bad test index" "--from 10000 is not a test image index" \
  "$vae" interpolate --checkpoint $ck --from 10000

# Hierarchical latents (issue 18; the bottom width is small's --latent-dim 4): bad settings; a ladder run's pictures,
# evaluation, per-layer monitor and export.
expect_error "latent-dims count" "--latent-dims has 1 size; --latent-layers 2 needs one per layer" \
  "$vae" train "${small[@]}" --latent-layers 2 --latent-dims 4 --out layers-bad
expect_error "latent-dims without layers" "give --latent-layers 2 as well" \
  "$vae" train "${small[@]}" --latent-dims 4,2 --out layers-bad
expect_error "hierarchy of flows" "--latent-layers > 1 needs --posterior diagonal-gaussian" \
  "$vae" train "${small[@]}" --latent-layers 2 --latent-dims 4,2 --posterior planar --out layers-bad
expect_error "unknown inference" "--inference must be bottom-up or ladder, not 'up'" \
  "$vae" train "${small[@]}" --latent-layers 2 --latent-dims 4,2 --inference up --out layers-bad
"$vae" train "${small[@]}" --epochs 1 --latent-layers 2 --latent-dims 4,2 --layer-hidden 16 \
  --inference ladder --out run-ladder >ladder.log 2>&1 || fail "a ladder run failed"
grep -q "active [0-9]*/4 [0-9]*/2 (KL " ladder.log && pass "progress line: active units per layer" ||
  fail "progress line without layers: $(grep epoch ladder.log | tail -1)"
[ "$(head -1 run-ladder/kl_per_dim.csv)" = "epoch,dim,layer,kl,mean_variance,active" ] &&
  [ "$(grep -c '^1,[0-9]*,2,' run-ladder/kl_per_dim.csv)" = 2 ] &&
  pass "kl_per_dim.csv has a layer column" || fail "kl_per_dim.csv of a hierarchy"
for view in "sample" "traverse" "traverse --layer 1" "manifold" "scatter --layer 1"; do
  # shellcheck disable=SC2086  # the view and its flags are words
  "$vae" $view --checkpoint run-ladder/checkpoint.pt --out ladder-view.png >/dev/null 2>&1 &&
    png ladder-view.png || fail "vae $view of a hierarchy"
done
expect_error "manifold of a lower layer" "the manifold sweeps the top layer" \
  "$vae" manifold --checkpoint run-ladder/checkpoint.pt --layer 1
expect_error "no such layer" "--layer must be 1 to 2" \
  "$vae" traverse --checkpoint run-ladder/checkpoint.pt --layer 3
"$vae" eval --checkpoint run-ladder/checkpoint.pt -k 20 --test-size 50 --out ladder-eval.json \
  >/dev/null 2>&1 || fail "vae eval of a hierarchy"
if "$vae" export --checkpoint run-ladder/checkpoint.pt --out-dir exp-ladder >/dev/null 2>&1 &&
   /usr/bin/python3 "$src/scripts/check_export.py" exp-ladder >"$work/out" 2>&1 &&
   "$vae" generate --decoder exp-ladder/decoder.pt --out ladder-gen.png >/dev/null 2>&1; then
  pass "a hierarchy exports, loads in Python and generates from its decoder alone"
else
  fail "export of a hierarchy: $(grep -v '^ok' "$work/out")"
fi
# An autoregressive decoder (issue 19): bad windows; a run that evaluates, draws pixel by pixel,
# exports, loads in Python and generates from its decoder alone.
expect_error "even autoregressive window" \
  "--autoregressive-kernel must be odd and at least 3 (or 0: none), not 4" \
  "$vae" train "${small[@]}" --autoregressive-kernel 4 --out ar-bad
expect_error "autoregressive gaussian" \
  "--autoregressive-kernel needs a likelihood without a scale, not gaussian" \
  "$vae" train "${small[@]}" --likelihood gaussian --autoregressive-kernel 3 --out ar-bad
expect_error "gated units without a window" \
  "--autoregressive-hidden needs --autoregressive-kernel K (the window it reads)" \
  "$vae" train "${small[@]}" --autoregressive-hidden 4 --out ar-bad
expect_error "conditional gates without gates" \
  "--autoregressive-gates-read-z needs --autoregressive-hidden H (the gates)" \
  "$vae" train "${small[@]}" --autoregressive-kernel 3 --autoregressive-gates-read-z --out ar-bad
expect_error "a first layer without gates" \
  "--autoregressive-features needs --autoregressive-hidden H (the gates that read them)" \
  "$vae" train "${small[@]}" --autoregressive-kernel 3 --autoregressive-features 2 --out ar-bad
expect_error "an even window onto the first layer" \
  "--autoregressive-feature-kernel must be odd and at least 1, not 2" \
  "$vae" train "${small[@]}" --autoregressive-kernel 3 --autoregressive-hidden 2 \
  --autoregressive-features 2 --autoregressive-feature-kernel 2 --out ar-bad
# Gated units that read x alone, then gates that also read z, then those on a two-layer stack.
for gates in x z z2; do
  flags=(--autoregressive-kernel 5 --autoregressive-hidden 2)
  if [ "$gates" != x ]; then flags+=(--autoregressive-gates-read-z); fi
  if [ "$gates" = z2 ]; then flags+=(--autoregressive-features 2); fi
  if "$vae" train "${small[@]}" --epochs 1 "${flags[@]}" --out "run-ar-$gates" >/dev/null 2>&1 &&
     "$vae" eval --checkpoint "run-ar-$gates/checkpoint.pt" -k 20 --test-size 50 \
       --out "ar-eval-$gates.json" >/dev/null 2>&1 &&
     "$vae" sample --checkpoint "run-ar-$gates/checkpoint.pt" --mode sample \
       --out "ar-sample-$gates.png" >/dev/null 2>&1 && png "ar-sample-$gates.png" &&
     "$vae" export --checkpoint "run-ar-$gates/checkpoint.pt" --out-dir "exp-ar-$gates" \
       >/dev/null 2>&1 &&
     /usr/bin/python3 "$src/scripts/check_export.py" "exp-ar-$gates" >"$work/out" 2>&1 &&
     "$vae" generate --decoder "exp-ar-$gates/decoder.pt" --out "ar-gen-$gates.png" \
       >/dev/null 2>&1 && png "ar-gen-$gates.png"; then
    pass "an autoregressive decoder (gates of $gates) trains, evaluates, draws, exports and generates"
  else
    fail "an autoregressive decoder (gates of $gates): $(grep -v '^ok' "$work/out" 2>/dev/null)"
  fi
done
# A learned prior on a hierarchy's top layer.
if "$vae" train "${small[@]}" --epochs 1 --latent-layers 2 --latent-dims 4,2 --layer-hidden 16 \
     --prior vamp --pseudo-inputs 4 --out run-layers-vamp >/dev/null 2>&1 &&
   "$vae" pseudo-inputs --checkpoint run-layers-vamp/checkpoint.pt --out layers-pseudo.png \
     >/dev/null 2>&1 && png layers-pseudo.png &&
   "$vae" eval --checkpoint run-layers-vamp/checkpoint.pt -k 20 --test-size 50 \
     --out layers-vamp-eval.json >/dev/null 2>&1 &&
   "$vae" export --checkpoint run-layers-vamp/checkpoint.pt --out-dir exp-layers-vamp \
     >/dev/null 2>&1 &&
   /usr/bin/python3 "$src/scripts/check_export.py" exp-layers-vamp >"$work/out" 2>&1 &&
   "$vae" generate --decoder exp-layers-vamp/decoder.pt --out layers-vamp-gen.png \
     >/dev/null 2>&1 && png layers-vamp-gen.png; then
  pass "a hierarchy with the VampPrior on top trains, evaluates, exports and generates"
else
  fail "a hierarchy with the VampPrior: $(grep -v '^ok' "$work/out" 2>/dev/null)"
fi
expect_error "free bits with a learned top prior" \
  "--free-bits needs the KL per dimension, which the top latent layer has no closed form for with --prior mog" \
  "$vae" train "${small[@]}" --latent-layers 2 --latent-dims 4,2 --prior mog --free-bits 0.1 \
  --out layers-bad

# Long-run settings (issue 19): a learning-rate schedule, a validation set
# with best.pt and patience, a time budget; one line for bad values.
if "$vae" train "${small[@]}" --epochs 3 --valid-size 500 --patience 2 --lr-schedule cosine \
     --lr-warmup-steps 10 --time-budget 1h --eval-every 2 --out run-long >long.log 2>&1 &&
   [ -f run-long/best.pt ] && grep -q "valid -ELBO .* lr " long.log &&
   head -1 run-long/metrics.csv | grep -q ",lr,valid_neg_elbo$" &&
   grep -q "^epoch 1 .*(test set not scored this epoch)" long.log &&
   grep -q "^epoch 2 .* test -ELBO" long.log && grep -q "^epoch 3 .* test -ELBO" long.log; then
  pass "a validation set writes best.pt; the schedule's rate is in the log and metrics.csv; --eval-every 2 scores epochs 2 and 3"
else
  fail "long-run settings: $(tail -2 long.log)"
fi
expect_error "bad time budget" "--time-budget must be a duration such as 90m, 2h or 7200s, not '2d'" \
  "$vae" train "${small[@]}" --time-budget 2d --out long-bad
expect_error "patience without validation" "--patience needs a validation set: give --valid-size N" \
  "$vae" train "${small[@]}" --patience 3 --out long-bad
expect_error "eval every 0" "--eval-every must be at least 1" \
  "$vae" train "${small[@]}" --eval-every 0 --out long-bad
expect_error "unknown lr schedule" "--lr-schedule must be constant, cosine, exponential or burda, not 'step'" \
  "$vae" train "${small[@]}" --lr-schedule step --out long-bad
expect_error "IWAE phase of an IWAE run" \
  "--iwae-from-epoch switches an ELBO run to the IWAE bound; --objective iwae trains it from the first epoch" \
  "$vae" train "${small[@]}" --objective iwae --iwae-from-epoch 2 --out long-bad

# Export and amortized inference (issue 4).
"$vae" train --data-dir "$mnist" --train-size 1000 --test-size 100 --model conv --channels 4,8 \
  --hidden 16 --latent-dim 3 --epochs 1 --threads 1 --samples 0 --out run-conv >/dev/null 2>&1 ||
  fail "conv run failed"
if "$vae" export --checkpoint $ck --out-dir exp-mlp >/dev/null 2>"$work/err" &&
   "$vae" export --checkpoint run-conv/checkpoint.pt --out-dir exp-conv >/dev/null 2>>"$work/err"; then
  pass "vae export (mlp and conv)"
else
  fail "vae export: $(cat "$work/err")"
fi
if /usr/bin/python3 "$src/scripts/check_export.py" exp-mlp exp-conv >"$work/out" 2>&1; then
  pass "Python torch.jit.load reproduces the C++ outputs (mlp and conv)"
else
  fail "check_export.py: $(grep -v '^ok' "$work/out")"
fi
/usr/bin/python3 "$src/scripts/idx_to_png.py" "$mnist/t10k-images-idx3-ubyte.gz" png --limit 300 >/dev/null
/usr/bin/python3 "$src/scripts/idx_to_png.py" "$mnist/t10k-images-idx3-ubyte.gz" png-inverted --limit 300 --invert >/dev/null
"$vae" encode --encoder exp-mlp/encoder.pt png --out enc-png.csv 2>/dev/null &&
"$vae" encode --encoder exp-mlp/encoder.pt png-inverted --format jsonl --out enc-inv.jsonl 2>/dev/null &&
"$vae" encode --checkpoint $ck "$mnist/t10k-images-idx3-ubyte.gz" --out enc-idx.csv 2>"$work/err"
if /usr/bin/python3 - <<'PY'
import csv, json
png = list(csv.reader(open("enc-png.csv")))
idx = list(csv.reader(open("enc-idx.csv")))
inv = [json.loads(line) for line in open("enc-inv.jsonl")]
assert len(png) == 301 and len(idx) == 10001 and len(inv) == 300 and png[0] == idx[0]
diff = max(abs(float(a) - float(b)) for ra, rb in zip(png[1:], idx[1:301]) for a, b in zip(ra[1:], rb[1:]))
diff_inv = max(abs(a - float(b)) for r, rb in zip(inv, idx[1:301]) for a, b in zip(r["mu"] + r["sigma"], rb[1:]))
assert diff <= 1e-5 and diff_inv <= 1e-5, (diff, diff_inv)
PY
then
  pass "encode: PNG files (also inverted) with encoder.pt agree with the in-process encoder"
else
  fail "encode results disagree"
fi
if grep -q "encoded 10000 images in .* images/s in the encoder" "$work/err"; then pass "encode reports throughput"; else fail "encode throughput line"; fi
"$vae" encode --encoder exp-mlp/encoder.pt --decoder exp-mlp/decoder.pt --reconstructions rec.png png >/dev/null 2>&1
if png rec.png; then pass "encode --reconstructions"; else fail "encode --reconstructions"; fi
"$vae" generate --decoder exp-conv/decoder.pt --n 9 --out gen.png >/dev/null 2>&1
if png gen.png; then pass "generate from decoder.pt alone"; else fail "generate"; fi
echo "not an image" >png/broken.png
expect_error "unreadable input image" "cannot read image png/broken.png" \
  "$vae" encode --encoder exp-mlp/encoder.pt png/broken.png
rm png/broken.png
expect_error "missing input" "cannot read input nothing.png: no such file" \
  "$vae" encode --encoder exp-mlp/encoder.pt nothing.png
expect_error "non-TorchScript encoder" "run-whole/metrics.csv is not a TorchScript file" \
  "$vae" encode --encoder run-whole/metrics.csv png
expect_error "decoder given as encoder" "is not an encoder exported by vae export" \
  "$vae" encode --encoder exp-mlp/decoder.pt png
expect_error "mismatched encoder and decoder" "the encoder has 4 latent dimensions but exp-conv/decoder.pt decodes 3" \
  "$vae" encode --encoder exp-mlp/encoder.pt --decoder exp-conv/decoder.pt --reconstructions r.png png

# Evaluation and scores (issue 5).
if "$vae" eval --checkpoint $ck --k 50 --k-curve 1,5,50 --test-size 200 --binarize static \
     --out eval.json --per-image per-image.csv >"$work/out" 2>&1 &&
  grep -q "binarize static (scored on one fixed binary draw, seed 20080101)" "$work/out" &&
  /usr/bin/python3 - <<'PY'
import csv, json
r = json.load(open("eval.json"))
curve = [c["log_px"] for c in r["k_curve"]]
assert r["images"] == 200 and r["k"] == 50 and r["binarize"] == "static"
assert curve == sorted(curve) and abs(curve[-1] - r["log_px"]) < 1e-9 and r["gap"] > 0
rows = list(csv.DictReader(open("per-image.csv")))
assert len(rows) == 200 and rows[0]["name"] == "test#0"
assert abs(sum(float(x["neg_log_px"]) for x in rows) / 200 + r["log_px"]) < 1e-3
assert abs(sum(float(x["neg_elbo"]) for x in rows) / 200 + r["elbo"]) < 1e-3
PY
then
  pass "vae eval writes the bound, the ELBO, the gap, the k curve and the per-image values"
else
  fail "vae eval: $(tail -3 "$work/out")"
fi
expect_error "eval k-curve beyond k" "--k-curve values must lie in 1..10, not 50" \
  "$vae" eval --checkpoint $ck --k 10 --k-curve 1,50 --test-size 10
/usr/bin/python3 "$src/scripts/idx_to_png.py" /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz fashion --limit 100 >/dev/null
"$vae" score --checkpoint $ck --k 10 png --out scores-mnist.csv 2>/dev/null &&
"$vae" score --checkpoint $ck --k 10 fashion --out scores-fashion.csv 2>/dev/null
if /usr/bin/python3 - <<'PY'
import csv
m = [float(r["neg_log_px"]) for r in csv.DictReader(open("scores-mnist.csv"))]
f = [float(r["neg_log_px"]) for r in csv.DictReader(open("scores-fashion.csv"))]
assert len(m) == 300 and len(f) == 100
assert sum(f) / len(f) > sum(m) / len(m) + 50, (sum(f) / len(f), sum(m) / len(m))
PY
then
  pass "vae score ranks Fashion-MNIST as anomalous under an MNIST model"
else
  fail "vae score"
fi

# Anomaly scores of two sets (issue 22): every method on folders of
# pictures, a model's ratio against itself is 0, and bad input.
if "$vae" ood --checkpoint $ck --background $ck --in png --out fashion --k 10 --regret-steps 2 \
     --regret-limit 10 --reference 50 --report ood >"$work/out" 2>&1 &&
  /usr/bin/python3 - <<'PY'
import csv, os
rows = {r["method"]: r for r in csv.DictReader(open("ood/ood.csv"))}
assert sorted(rows) == ["complexity", "likelihood", "ratio", "regret", "typicality"], rows
assert float(rows["likelihood"]["auroc"]) > 0.9, rows["likelihood"]
assert rows["regret"]["n_in"] == "10" and rows["likelihood"]["n_in"] == "300"
scores = list(csv.DictReader(open("ood/scores.csv")))
ratio = [float(r["score"]) for r in scores if r["method"] == "ratio"]
assert len(ratio) == 400 and all(v == 0.0 for v in ratio), ratio[:5]
for m in rows:
    assert os.path.getsize("ood/hist_%s.png" % m) > 1000
PY
then
  pass "vae ood scores both sets with every method; a model against itself has ratio 0"
else
  fail "vae ood: $(tail -3 "$work/out")"
fi
# A mixed set labelled by a CSV: 300 digits (a_*, in) then 100 Fashion (b_*, out).
mkdir -p mixed
for f in png/*.png; do cp "$f" "mixed/a_$(basename "$f")"; done
for f in fashion/*.png; do cp "$f" "mixed/b_$(basename "$f")"; done
/usr/bin/python3 -c '
with open("mixed.csv", "w") as f:
    f.write("index,label\n" + "".join("%d,%d\n" % (i, i >= 300) for i in range(400)))'
if "$vae" ood --checkpoint $ck --in mixed --labels-csv mixed.csv --methods likelihood,complexity \
     --k 10 --report ood-mixed >"$work/out" 2>&1 &&
  /usr/bin/python3 - <<'PY'
import csv
rows = {r["method"]: r for r in csv.DictReader(open("ood-mixed/ood.csv"))}
assert rows["likelihood"]["n_in"] == "300" and rows["likelihood"]["n_out"] == "100", rows
assert float(rows["likelihood"]["auroc"]) > 0.9, rows
PY
then
  pass "vae ood splits a mixed set by --labels-csv"
else
  fail "vae ood --labels-csv: $(tail -3 "$work/out")"
fi
printf 'index,label\n0,1\n1,x\n' >mixed-bad.csv
expect_error "ood: a bad --labels-csv row" "--labels-csv mixed-bad.csv line 3: expected 'index,label'" \
  "$vae" ood --checkpoint $ck --in mixed --labels-csv mixed-bad.csv
if "$vae" score --checkpoint $ck --k 10 fashion --methods complexity,regret --out scores-methods.csv \
     2>"$work/out" && head -1 scores-methods.csv | grep -qx "name,neg_elbo,neg_log_px,complexity,regret" &&
   [ "$(wc -l <scores-methods.csv)" -eq 101 ]; then
  pass "vae score --methods adds a column per score"
else
  fail "vae score --methods: $(tail -3 "$work/out")"
fi
expect_error "score: typicality of one image" "typicality scores sets of inputs" \
  "$vae" score --checkpoint $ck fashion --methods typicality
expect_error "ood: an unknown method" "--methods must be likelihood, complexity, ratio, regret or typicality, not 'bogus'" \
  "$vae" ood --checkpoint $ck --in png --out fashion --methods likelihood,bogus
expect_error "ood: ratio without a background model" "--methods ratio needs --background" \
  "$vae" ood --checkpoint $ck --in png --out fashion --methods ratio
/usr/bin/python3 -c '
import os
from PIL import Image
os.makedirs("big", exist_ok=True)
for i in range(3):
    Image.new("L", (32, 32), 40 * i).save("big/%d.png" % i)'
expect_error "ood: a set of another image size" "--out big holds 32x32 grey images; the model reads 28x28 grey" \
  "$vae" ood --checkpoint $ck --in png --out big

# Calibration (issue 20).
if "$vae" calibrate --checkpoint $ck --simulations 100 --draws 19 --test-size 20 --out calib \
     >"$work/out" 2>&1 &&
  /usr/bin/python3 - <<'PY'
import csv, json, os
r = json.load(open("calib/calibration.json"))
assert r["simulations"] == 100 and r["draws"] == 19 and len(r["units"]) == 4
assert all(u["verdict"] in ("ok", "over-confident", "under-confident", "biased") for u in r["units"])
assert all(sum(u["counts"]) == 100 for u in r["units"])
assert 0 <= r["coverage"]["joint highest-density region"]["area"] <= 0.5
assert r["predictive"]["images"] == 20 and r["predictive"]["pixels"] == 20 * 784
# The reliability diagram exactly when the run's test pixels are binary.
binary = json.load(open("run-whole/config.json"))["binarize"] != "none"
assert ("reliability" in r["predictive"]) == binary
assert os.path.exists("calib/reliability.png") == binary
rows = list(csv.DictReader(open("calib/ranks.csv")))
assert len(rows) == 100 and all(0 <= int(x["z0"]) <= 19 for x in rows)
for f in ("rank_histograms.png", "ecdf.png", "coverage.png"):
    assert os.path.getsize("calib/" + f) > 1000, f
PY
then
  pass "vae calibrate writes ranks, verdicts, coverage, the predictive check and its pictures"
else
  fail "vae calibrate: $(tail -3 "$work/out")"
fi
expect_error "calibrate without simulations" "--simulations must be at least 2, not 0" \
  "$vae" calibrate --checkpoint $ck --simulations 0
expect_error "calibrate with one draw" "--draws must be at least 2, not 1" \
  "$vae" calibrate --checkpoint $ck --draws 1
expect_error "calibrate a file that is not a checkpoint" "or not a vae checkpoint" \
  "$vae" calibrate --checkpoint run-whole/metrics.csv

# Data-parallel training (issue 6), through scripts/launch_local.sh.
launch="$src/scripts/launch_local.sh"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ddp=("${small[@]}" --train-size 1500 --binarize dynamic)
VAE_BIN="$vae" MASTER_PORT=$(port) "$launch" 2 "${ddp[@]}" --epochs 2 --out ddp-whole >ddp.log 2>&1 ||
  fail "launch_local.sh 2 failed: $(tail -3 ddp.log)"
VAE_BIN="$vae" MASTER_PORT=$(port) "$launch" 2 "${ddp[@]}" --epochs 1 --out ddp-resumed >/dev/null 2>&1 &&
VAE_BIN="$vae" MASTER_PORT=$(port) "$launch" 2 --resume --epochs 2 --out ddp-resumed >ddp-resume.log 2>&1 ||
  fail "data-parallel resume failed: $(tail -20 ddp-resume.log)"
if grep -q "data parallel: 2 processes (gloo)" ddp.log &&
   diff <(cut -d, -f1-12 ddp-whole/metrics.csv) <(cut -d, -f1-12 ddp-resumed/metrics.csv) >/dev/null &&
   [ "$(wc -l <ddp-whole/metrics.csv)" -eq 3 ]; then
  pass "data-parallel run resumes to the numbers of an uninterrupted one"
else
  fail "data-parallel resume differs: $(diff <(cut -d, -f1-12 ddp-whole/metrics.csv) <(cut -d, -f1-12 ddp-resumed/metrics.csv))"
fi
expect_error "rank without a rendezvous" "rank 1 of 2: cannot reach the rendezvous store at 127.0.0.1:[0-9]* within 2 s" \
  env RANK=1 WORLD_SIZE=2 MASTER_PORT=$(port) "$vae" train "${small[@]}" --dist-timeout 2 --out ddp-alone
expect_error "rank outside the world" "the rank must be in \[0, 2), not 5" \
  "$vae" train --rank 5 --world-size 2
# A rank given other flags than rank 0 stops, and so does rank 0.
p=$(port)
RANK=0 WORLD_SIZE=2 MASTER_PORT=$p "$vae" train "${small[@]}" --out ddp-mismatch >/dev/null 2>r0.err &
pid0=$!
RANK=1 WORLD_SIZE=2 MASTER_PORT=$p "$vae" train "${small[@]}" --lr 0.01 --out ddp-mismatch >/dev/null 2>r1.err
rc1=$?
wait $pid0
rc0=$?
if [ $rc0 -ne 0 ] && [ $rc1 -ne 0 ] && grep -q "rank 1 was given --lr 0.01, rank 0 trains with 0.001" r1.err &&
   grep -q "another rank stopped" r0.err && [ "$(wc -l <r0.err)" -eq 1 ]; then
  pass "ranks with different flags stop with a message"
else
  fail "flag mismatch (rank 0 exit $rc0: $(cat r0.err); rank 1 exit $rc1: $(cat r1.err))"
fi
# kill -9 of rank 1 mid-run: rank 0 exits with one line within seconds, no hang.
p=$(port)
RANK=0 WORLD_SIZE=2 MASTER_PORT=$p "$vae" train "${small[@]}" --train-size 60000 --epochs 5 --out ddp-killed >r0.out 2>r0.err &
pid0=$!
RANK=1 WORLD_SIZE=2 MASTER_PORT=$p "$vae" train "${small[@]}" --train-size 60000 --epochs 5 --out ddp-killed >/dev/null 2>&1 &
pid1=$!
# Mid-run means after the rendezvous: rank 0 prints its data-parallel line
# once both ranks have met (on a loaded machine that can take seconds; a
# rank that dies before the rendezvous is waited for up to its timeout).
for _ in $(seq 120); do
  grep -q "data parallel: 2 processes" r0.out 2>/dev/null && break
  sleep 0.5
done
sleep 1
kill -9 $pid1
wait $pid1 2>/dev/null
start=$(date +%s)
wait $pid0
rc0=$?
took=$(($(date +%s) - start))
if [ $rc0 -eq 1 ] && [ "$took" -lt 30 ] && [ "$(wc -l <r0.err)" -eq 1 ] &&
   grep -q "^vae: error: rank 0 of 2: the .* failed .*another rank stopped or cannot be reached" r0.err; then
  pass "a killed rank stops the other in ${took}s"
else
  fail "killed rank (rank 0 exit $rc0 after ${took}s: $(cat r0.err))"
fi
if "$launch" 0 2>/dev/null; then fail "launch_local.sh 0 accepted"; else pass "launch_local.sh refuses 0 processes"; fi

# Signals and unwritable places (issue 7).
# The signal goes out once the first progress line shows training under way
# (a fixed delay raced a run that now ends within it), 450 steps before its end.
sig=("${small[@]}" --train-size 20000 --epochs 3 --log-interval 20)
"$vae" train "${sig[@]}" --out sig-whole >/dev/null 2>&1 || fail "signal reference run failed"
for signal in INT TERM; do
  "$vae" train "${sig[@]}" --out sig-$signal >sig.out 2>sig.err &
  pid=$!
  for _ in $(seq 1 3000); do grep -q "step 20/157" sig.out 2>/dev/null && break; sleep 0.01; done
  kill -$signal $pid
  wait $pid
  rc=$?
  code=$([ $signal = INT ] && echo 130 || echo 143)
  if [ $rc -eq "$code" ] && [ "$(wc -l <sig.err)" -eq 1 ] &&
     grep -q "^vae: stopped by SIG$signal after step [0-9]* (.*); checkpoint written. Continue with: vae train --resume --out sig-$signal$" sig.err &&
     "$vae" train --resume --out sig-$signal >/dev/null 2>&1 &&
     diff <(cut -d, -f1-12 sig-whole/metrics.csv) <(cut -d, -f1-12 sig-$signal/metrics.csv) >/dev/null &&
     diff sig-whole/kl_per_dim.csv sig-$signal/kl_per_dim.csv >/dev/null; then
    pass "SIG$signal writes a checkpoint (exit $rc) and --resume reaches the uninterrupted numbers"
  else
    fail "SIG$signal (exit $rc: $(cat sig.err))"
  fi
done
expect_error "unwritable output directory" "cannot create directory /proc/sys/vae-run" \
  "$vae" train "${small[@]}" --out /proc/sys/vae-run
expect_error "unwritable picture" "cannot write /proc/sys/vae.png" \
  "$vae" sample --checkpoint run-whole/checkpoint.pt --out /proc/sys/vae.png
expect_error "no CUDA" "--device cuda: no CUDA device is available" \
  "$vae" train "${small[@]}" --device cuda --out no-cuda

# vae bench (issue 8): the report and its JSON.
if "$vae" bench "${small[@]}" --train-size 1000 --test-size 300 --steps 3 --warmup 1 --baseline --json bench.json >bench.txt 2>&1 &&
   grep -q "^training     hand-derived MLP gradient + fused Adam" bench.txt &&
   grep -q "^             3 steps, 384 images .* (median of 3;" bench.txt &&
   grep -q "^baseline     autograd + LibTorch Adam, timed in turn" bench.txt && grep -q "^matmul only" bench.txt &&
   /usr/bin/python3 -c 'import json; j = json.load(open("bench.json")); assert j["train"]["images"] == 384 and j["train"]["repeats"] == 3 and j["baseline"]["seconds"] > 0 and j["flop_per_training_image"] > 0 and len(j["layers"]) == 4'; then
  pass "vae bench reports training (and the autograd baseline), matmul rate, evaluation, encoding and memory"
else
  fail "vae bench: $(head -c 900 bench.txt)"
fi
# --train-step autograd: the plain LibTorch step, and the conv model falls back to autograd.
if "$vae" bench "${small[@]}" --train-size 500 --test-size 100 --steps 2 --warmup 1 --repeats 1 --train-step autograd >bench2.txt 2>&1 &&
   grep -q "^training     autograd + LibTorch Adam" bench2.txt &&
   "$vae" bench "${small[@]}" --model conv --channels 4,8 --train-size 300 --test-size 100 --steps 1 --warmup 1 --repeats 1 >bench3.txt 2>&1 &&
   grep -q "^training     autograd + fused Adam" bench3.txt; then
  pass "vae bench --train-step autograd and the conv model's autograd step"
else
  fail "vae bench --train-step: $(head -c 600 bench2.txt bench3.txt)"
fi
expect_error "bad --train-step" "--train-step must be fused or autograd" "$vae" bench --train-step magic
# --gemm: the products of the fused step on LibTorch's BLAS; the default names its library.
if "$vae" bench "${small[@]}" --train-size 500 --test-size 100 --steps 2 --warmup 1 --repeats 1 --gemm libtorch >bench4.txt 2>&1 &&
   grep -q "^training     hand-derived MLP gradient + fused Adam; products: LibTorch's BLAS$" bench4.txt &&
   grep -q "^matmul only  the same products timed alone (LibTorch's BLAS)" bench4.txt &&
   grep -q "^training     hand-derived MLP gradient + fused Adam; products: " bench.txt; then
  pass "vae bench --gemm libtorch, and the products' library in the report"
else
  fail "vae bench --gemm: $(head -c 600 bench4.txt)"
fi
expect_error "bad --gemm" "--gemm must be auto, onednn or libtorch, not 'mkl'" "$vae" bench --gemm mkl
expect_error "bench with a bad flag" "--steps must be" "$vae" bench --steps -2

# Folders of pictures: class subfolders, a fixed test share, the cache, eval
# on the same split, colour pictures, and bad folders.
/usr/bin/python3 "$src/scripts/idx_to_png.py" "$mnist/t10k-images-idx3-ubyte.gz" pics --limit 600 \
  --labels "$mnist/t10k-labels-idx1-ubyte.gz" >/dev/null
pics=(--test-fraction 0.2 --cache pics.cache --epochs 1 --hidden 32 --latent-dim 4 --threads 1)
if "$vae" train --data-dir pics "${pics[@]}" --samples 4 --out run-pics >"$work/out" 2>&1 &&
   grep -q "(pictures in 10 classes, listed and decoded in .* cached in pics.cache): 480 training, 120 test images of 28x28 grey" "$work/out" &&
   "$vae" train --data-dir pics "${pics[@]}" --samples 0 --out run-pics2 >"$work/out" 2>&1 &&
   grep -q "listed and read from the cache pics.cache" "$work/out" &&
   "$vae" eval --checkpoint run-pics/checkpoint.pt -k 10 >"$work/out" 2>&1 &&
   grep -q "120 test images" "$work/out"; then
  pass "train on a folder of pictures in classes, from the cache the second time, eval on its test share"
else
  fail "pictures: $(tail -3 "$work/out")"
fi
/usr/bin/python3 - <<'PY'
import os, random
from PIL import Image
random.seed(3)
for i in range(40):
    os.makedirs("colour", exist_ok=True)
    rgb = tuple(random.randrange(256) for _ in range(3))
    Image.new("RGB", (8, 8), rgb).save("colour/%02d.png" % i)
PY
if "$vae" train --data-dir colour --epochs 1 --hidden 16 --latent-dim 2 --threads 1 --samples 4 \
     --out run-colour >"$work/out" 2>&1 &&
   grep -q "36 training, 4 test images of 8x8 colour" "$work/out" &&
   (for view in sample reconstruct interpolate traverse manifold; do
      "$vae" $view --checkpoint run-colour/checkpoint.pt --out "colour-$view.png" >/dev/null || exit 1
    done) &&
   /usr/bin/python3 -c "
import sys
from PIL import Image
names = ['run-colour/samples.png'] + ['colour-%s.png' % v for v in
         ('sample', 'reconstruct', 'interpolate', 'traverse', 'manifold')]
sys.exit(any(Image.open(n).mode != 'RGB' for n in names))"; then
  pass "colour pictures train and give colour samples and pictures"
else
  fail "colour pictures: $(tail -3 "$work/out")"
fi
if "$vae" export --checkpoint run-colour/checkpoint.pt --out-dir exp-colour >/dev/null 2>&1 &&
   "$vae" encode --encoder exp-colour/encoder.pt colour --out enc-colour.csv 2>/dev/null &&
   "$vae" encode --checkpoint run-colour/checkpoint.pt colour --out enc-colour2.csv 2>/dev/null &&
   /usr/bin/python3 - <<'PY'
import csv
a = list(csv.reader(open("enc-colour.csv")))
b = list(csv.reader(open("enc-colour2.csv")))
assert len(a) == 41 and len(b) == 41
assert max(abs(float(x) - float(y)) for ra, rb in zip(a[1:], b[1:]) for x, y in zip(ra[1:], rb[1:])) <= 1e-5
PY
then
  pass "encode colour pictures with a colour model, exported and in-process alike"
else
  fail "encode colour pictures"
fi
mkdir -p empty-folder
expect_error "a folder without pictures" "empty-folder holds no pictures" \
  "$vae" train --data-dir empty-folder
cp -r pics bad-pics && : >bad-pics/3/zero.png
expect_error "an empty picture file" "cannot read picture bad-pics/3/zero.png (an empty file)" \
  "$vae" train --data-dir bad-pics --out run-bad
mkdir -p mixed && cp pics/0/*.png mixed/ && cp colour/00.png mixed/
expect_error "pictures of different sizes" "pictures of different sizes: .*give --image-size" \
  "$vae" train --data-dir mixed --out run-mixed
expect_error "a grey run resumed in colour" "color cannot change on --resume" \
  "$vae" train --resume --out run-pics --color rgb --epochs 2

# Counts: 8x8 pictures whose pixels are counts 0..16, under Poisson and
# binomial likelihoods; a count above --trials is refused.
/usr/bin/python3 - <<'PY'
import os, random
from PIL import Image
random.seed(5)
os.makedirs("counts", exist_ok=True)
for i in range(60):
    Image.frombytes("L", (8, 8), bytes(random.randrange(17) for _ in range(64))).save("counts/%02d.png" % i)
PY
if "$vae" train --data-dir counts --likelihood poisson --epochs 2 --hidden 16 --latent-dim 2 \
     --threads 1 --samples 0 --out run-poisson >"$work/out" 2>&1 &&
   "$vae" train --data-dir counts --likelihood binomial --trials 16 --epochs 2 --hidden 16 \
     --latent-dim 2 --threads 1 --samples 0 --out run-binomial >>"$work/out" 2>&1 &&
   "$vae" eval --checkpoint run-binomial/checkpoint.pt -k 10 >"$work/out" 2>&1 &&
   grep -q "bits/dim" "$work/out"; then
  pass "counts train under poisson and binomial likelihoods, eval reports bits/dim"
else
  fail "counts: $(tail -3 "$work/out")"
fi
# Count pictures are drawn stretched: the largest count white, not 16/255.
if "$vae" sample --checkpoint run-poisson/checkpoint.pt --n 4 --out counts-samples.png \
     >"$work/out" 2>&1 &&
   /usr/bin/python3 -c 'import sys; from PIL import Image; sys.exit(Image.open("counts-samples.png").getextrema()[1] != 255)'; then
  pass "samples of a count model are stretched to white"
else
  fail "count samples not stretched: $(tail -1 "$work/out")"
fi
expect_error "a count above --trials" \
  "the training images hold the value 16, more than --likelihood binomial allows (--trials 8)" \
  "$vae" train --data-dir counts --likelihood binomial --trials 8 --out run-trials

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
