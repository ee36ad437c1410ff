#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test (GoogleTest suites and the
# command-line tests) with ctest. Reads MNIST from $MNIST_DIR, else from
# ../shared/data/mnist beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DVAE_WERROR=ON
cd "${BUILD_DIR:-build}"
ctest -j"$(nproc)" --output-on-failure
