// vae: train variational autoencoders and serve amortized inference.
#include "vae/cli.h"

int main(int argc, char** argv) {
  return vae::run_cli(argc, argv);
}
