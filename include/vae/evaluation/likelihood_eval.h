// `vae eval`: the test-set log-likelihood measured the way the literature
// measures it (Burda et al. 2015): the importance-weighted bound L_k with
// large k, the ELBO, the variational gap between them, and bits per
// dimension.
#pragma once

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <ostream>
#include <vector>

#include "vae/model/vae_model.h"

namespace vae {

struct LikelihoodEvalOptions {
  int64_t k = 5000;              // importance samples per image
  std::vector<int64_t> k_curve;  // also report L_k' for these k' <= k
  int64_t batch_size = 100;      // images per pass
  int64_t max_rows = 8192;       // decoded codes per chunk (memory bound)
  std::ostream* log = nullptr;   // progress; nullptr: none
  bool terminal = false;
};

struct LikelihoodEvalResult {
  int64_t images = 0;
  int64_t k = 0;
  int64_t pixels = 0;      // dimensions per image, for bits/dim
  double log_px = 0.0;     // mean L_k, nats per image
  double log_px_se = 0.0;  // its standard error over images
  double elbo = 0.0;       // mean ELBO (the average log weight), nats per image
  double elbo_se = 0.0;
  double gap = 0.0;  // log_px - elbo: an estimate of E_x KL(q(z|x) || p(z|x))
  // For each k' of the curve: the mean L_k' (averaged over the k/k' disjoint
  // groups of the k samples, so every k' uses all the samples).
  std::vector<std::pair<int64_t, double>> k_curve;
  double seconds = 0.0;
  torch::Tensor per_image_log_px;  // [N]
  torch::Tensor per_image_elbo;    // [N]

  // -L_k of each image, nats: the anomaly score `likelihood`.
  std::vector<double> per_image_neg_log_px() const;
  // -log p(x) / (pixels ln 2)
  double bits_per_dim(double nats) const;
  nlohmann::json to_json() const;
};

// Evaluates `images` (uint8 [N, H, W]; binarize them first for binarized
// models) on `device`. Draws from the default generators.
LikelihoodEvalResult evaluate_log_likelihood(VAE& model, const torch::Tensor& images,
                                             torch::Device device,
                                             const LikelihoodEvalOptions& options);

}  // namespace vae
