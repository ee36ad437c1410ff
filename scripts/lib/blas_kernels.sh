# shellcheck shell=bash
# same_blas_kernels VAE_BIN: where vae names OpenBLAS's kernels itself
# (OpenBLAS did not know this CPU: src/runtime/blas_kernels.cpp), export the
# same OPENBLAS_CORETYPE, so that the Python peers a benchmark times against
# vae run on the same kernels. Prints what it chose.
same_blas_kernels() {
  local line
  line=$("$1" version | sed -n 's/.*OPENBLAS_CORETYPE=\([A-Za-z0-9]*\) (set by vae.*/\1/p')
  if [ -n "$line" ]; then
    export OPENBLAS_CORETYPE="$line"
    echo "OpenBLAS kernels for vae and the Python peers: $line (set by vae; OpenBLAS does not know this CPU)"
  fi
}
