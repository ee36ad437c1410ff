#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test (GoogleTest suites and the
# command-line tests) with ctest. Reads MNIST from $MNIST_DIR, else from
# ../shared/data/mnist beside the repository. Shares its build (build/, the
# same flags) with scripts/quickstart.sh, so whichever runs second builds
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/phase.sh
phase packages bash scripts/setup.sh
phase build bash scripts/build.sh
phase tests ctest --test-dir "${BUILD_DIR:-build}" -j"$(nproc)" --output-on-failure
phase_summary "test.sh"
