#!/usr/bin/env bash
# Makes the OpenMP build of OpenBLAS the active BLAS and LAPACK in every
# alternative group it serves (libblas.so.3, liblapack.so.3, libopenblas.so.0):
# other packages (python3-torch's numpy) bring the pthread build too, and
# whichever is chosen is what Debian's libtorch runs on. The reference BLAS
# makes training ~15x slower; the pthread build's threads fight OpenMP's.
# Called by setup.sh and by the Docker image's runtime stage.
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
while read -r group _ current; do
  case $group in libblas.so*|liblapack.so*|libopenblas.so*) ;; *) continue ;; esac
  want=$(update-alternatives --list "$group" 2>/dev/null | grep /openblas-openmp/ | head -n1 || true)
  if [ -n "$want" ] && [ "$(readlink -f "$current")" != "$(readlink -f "$want")" ]; then
    $sudo update-alternatives --set "$group" "$want"
  fi
done < <(update-alternatives --get-selections)
