// vae: train variational autoencoders and serve amortized inference.
#include "vae/cli/cli.h"
#include "vae/runtime/blas_kernels.h"
#include "vae/runtime/runtime.h"

int main(int argc, char** argv) {
  // First of all: it may run the program again with other BLAS kernels.
  vae::choose_blas_kernels(argv);
  // Before any thread starts: LibTorch's and the BLAS's pools inherit it.
  vae::flush_denormals();
  vae::keep_freed_memory();
  return vae::run_cli(argc, argv);
}
