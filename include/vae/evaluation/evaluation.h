// The held-out evaluation run after every epoch: the negative ELBO and its
// parts, and the posterior-collapse diagnostics.
#pragma once

#include <torch/types.h>

#include <vector>

#include "vae/data/batcher.h"
#include "vae/engine/gemm.h"
#include "vae/model/vae_model.h"
#include "vae/runtime/distributed.h"

namespace vae {

struct EvalResult {
  double neg_elbo = 0.0;  // nats per image, one reparameterized sample each
  double recon = 0.0;     // -E_q[log p(x|z)]
  double kl = 0.0;        // KL(q(z|x) || p(z))
  std::vector<double> kl_per_dim;
  std::vector<double> mean_variance;  // Cov_x(E_q[z_d]) per dimension; empty: units active by KL
  std::vector<double> mi_per_unit;    // I(x; unit) where the family has it exactly, else empty
  int64_t active_units = 0;
  double mutual_info = 0.0;  // nats; NaN when not computed
};

struct EvalOptions {
  double active_threshold = 0.01;
  bool mutual_info = true;
  // The fully connected model on the CPU runs its forward pass on
  // MlpGradient's buffers with this library's products (--gemm).
  GemmBackend gemm = parse_gemm("auto");
};

// Evaluates `model` on every batch of `data` (in file order) in inference
// mode. Draws the reparameterized samples from the default generators.
// With `comm` (data-parallel training) rank r evaluates batches r, r + W, ...,
// the posterior parameters and sums are combined with one all-reduce and the
// mutual information is split by rows; every rank returns the same result,
// equal to a single process's up to rounding, and every rank draws the same
// random numbers (its generators stay in step with the others').
EvalResult evaluate(VAE& model, const Batcher& data, const EvalOptions& options = {},
                    Communicator* comm = nullptr);

}  // namespace vae
