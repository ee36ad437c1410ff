#!/usr/bin/env bash
# Builds everything with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DVAE_SANITIZE=address,undefined) into ${SANITIZE_BUILD_DIR:-build-sanitize}
# and runs the test suite under them: any report fails the run. The 21 random
# kill -9 trials (kill_resume) run only in the normal build: under the
# sanitizers they take the longest, and the cli test's kill -9 and resume
# still runs here; SANITIZE_ALL=1 runs them too.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/phase.sh
phase packages bash scripts/setup.sh
build=${SANITIZE_BUILD_DIR:-build-sanitize}
# -g1: line tables for the sanitizers' stack traces without full debug info,
# which about halves the compile time of a LibTorch-heavy file.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAE_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DVAE_SANITIZE=address,undefined >/dev/null
phase build cmake --build "$build" -j"$(nproc)"
# LibTorch, OpenMP, OpenBLAS and OpenCV are not instrumented and keep some
# allocations until exit: those are suppressed (tests/sanitizers/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
exclude=()
if [ "${SANITIZE_ALL:-0}" != 1 ]; then exclude=(-E '^kill_resume$'); fi
phase tests ctest --test-dir "$build" -j"$(nproc)" --output-on-failure --timeout 1200 "${exclude[@]}"
phase_summary "sanitize.sh"
