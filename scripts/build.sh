#!/usr/bin/env bash
# Configures and builds vae (Release) into ${BUILD_DIR:-build}.
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@"
cmake --build "$build_dir" -j"$(nproc)"
