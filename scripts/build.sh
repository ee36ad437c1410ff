#!/usr/bin/env bash
# Configures and builds vae (Release, tests included) into ${BUILD_DIR:-build}.
# Warnings are errors (-DVAE_WERROR=ON) with the compiler setup.sh installs,
# for the README's commands and CI alike, so that both share one build;
# VAE_WERROR=OFF turns that off for another compiler. Extra arguments go to
# CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DVAE_WERROR="${VAE_WERROR:-ON}" "$@"
cmake --build "$build_dir" -j"$(nproc)"
