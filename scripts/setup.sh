#!/usr/bin/env bash
# Installs the Debian packages vae needs to build, test and run. Idempotent:
# packages already present are not downloaded again. VAE_SETUP_MINIMAL=1
# leaves out what only the tests need (the Docker image uses it);
# VAE_SETUP_EXTRA="pkg ..." adds packages (scripts/fuzz.sh, sanitize.sh).
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU), C++ frontend + TorchScript
  libopencv-dev         # PNG/JPEG I/O for images and grids
  libcxxopts-dev        # command-line flags
  zlib1g-dev            # gzip-compressed IDX files
  nlohmann-json3-dev    # config.json, model presets, checkpoint metadata
  libgloo-dev           # headers of c10d's Gloo process group (multi-process training)
  libopenblas0-openmp   # Debian's libtorch calls the active libblas.so.3;
                        # the reference BLAS makes training ~15x slower
  libdnnl-dev           # oneDNN's sgemm for the training step (src/engine/gemm.cpp);
                        # its library is the one libtorch already links
)
if [ "${VAE_SETUP_MINIMAL:-0}" != 1 ]; then
  packages+=(
    libgtest-dev          # unit tests
    dataset-fashion-mnist # second IDX data set, read by the tests
    python3-torch         # second client for exported TorchScript files
    python3-matplotlib    # scripts/plot_run.py: learning curves and report.html
  )
fi
# Extra packages a script needs only for itself (fuzz.sh: clang).
if [ -n "${VAE_SETUP_EXTRA:-}" ]; then
  read -r -a extra <<<"$VAE_SETUP_EXTRA"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

bash "$(dirname "$0")/use_openblas_openmp.sh"
