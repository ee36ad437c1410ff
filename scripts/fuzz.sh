#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS (AddressSanitizer and UBSan on):
#   scripts/fuzz.sh idx_reader|image_input|config|checkpoint|all SECONDS
# (SECONDS = 0 only builds; `all` runs the targets one after the other.)
# Builds with clang into ${FUZZ_BUILD_DIR:-build-fuzz}. The run starts from
# the committed seeds (tests/fuzz/corpus/TARGET) and keeps what it finds in
# build-fuzz/corpus/TARGET; a crash is written to build-fuzz/crashes/TARGET/
# and the script exits non-zero. Add a crashing input to the committed
# corpus once fixed: the test suite replays it (FuzzCorpus.*).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(idx_reader image_input config checkpoint)
if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh ${targets[*]// /|}|all SECONDS" >&2
  exit 2
fi
if [ "$1" = all ]; then run=("${targets[@]}"); else run=("$1"); fi
for t in "${run[@]}"; do
  if [[ ! " ${targets[*]} " =~ " $t " ]]; then
    echo "fuzz.sh: unknown target '$t' (${targets[*]})" >&2
    exit 2
  fi
done

VAE_SETUP_EXTRA="clang libclang-rt-14-dev" bash scripts/setup.sh
build=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAE_FUZZ=ON \
  -DVAE_SANITIZE=address,undefined -DVAE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${run[@]/#/fuzz_}"

# LibTorch and OpenMP are not instrumented and keep some allocations until
# exit; their leaks are suppressed, the project's are not.
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
[ "$2" -gt 0 ] || exit 0
for t in "${run[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  echo "fuzz.sh: $t for $2 s"
  "$build/fuzz_$t" -max_total_time="$2" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t"
done
