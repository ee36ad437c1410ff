// Anomaly scores of `vae ood` and `vae score --method`: the raw likelihood
// and four corrections of its known failure (Nalisnick et al. 2019: simple
// images with many dark pixels get high likelihood under any model). Every
// score is in nats per image (typicality: per batch), higher = more
// anomalous.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "vae/model/vae_model.h"
#include "vae/runtime/name_table.h"

namespace vae {

// likelihood: -log p(x) (the L_k estimate);
// complexity: -log p(x) - L(x), L(x) the image's PNG length in nats
//   (Serrà et al. 2020, "Input complexity and out-of-distribution detection");
// ratio: -log p(x) + log p_background(x), the background model trained on
//   mutated inputs (Ren et al. 2019, "Likelihood ratios for OOD detection");
// regret: the -ELBO gained by re-fitting the encoder to the one image
//   (Xiao et al. 2020, "Likelihood regret");
// typicality: |mean -log p(x) of a batch - the training set's mean|
//   (Nalisnick et al. 2019, "Detecting out-of-distribution inputs to deep
//   generative models using typicality").
enum class OodMethod { kLikelihood, kComplexity, kRatio, kRegret, kTypicality };
const NameTable<OodMethod>& ood_methods();

// L(x): the bytes of each image as a PNG at OpenCV's strongest compression
// (level 9; a set of binary images as 1-bit PNGs), times 8 ln 2: [N] nats.
// images: uint8 [N, H, W] or [N, C, H, W].
std::vector<double> png_complexity_nats(const torch::Tensor& images_u8);

// The complexity score: nll - png_complexity_nats(images), per image.
std::vector<double> complexity_scores(const std::vector<double>& nll,
                                      const torch::Tensor& images_u8);
// The ratio score: the model's nll - the background model's, per image.
std::vector<double> ratio_scores(const std::vector<double>& nll,
                                 const std::vector<double>& background_nll);

struct RegretOptions {
  int64_t steps = 20;       // Adam steps on the encoder's weights per image
  double lr = 1e-3;         // their learning rate
  int64_t draws = 8;        // reparameterized draws per step
  int64_t eval_draws = 64;  // draws of the -ELBO before and after (the same)
  uint64_t seed = 1;
  std::ostream* log = nullptr;  // a progress bar; nullptr: none
  bool terminal = false;
};

// Likelihood regret per image [N] (nats): the -ELBO of the trained model
// minus the -ELBO after `steps` Adam steps of the encoder's weights on that
// image alone; both -ELBO estimates use the same eval_draws noise. The
// model's weights are put back after each image. images: uint8 [N, ...] as
// the model reads them (binarized where it was).
std::vector<double> likelihood_regret(VAE& model, const torch::Tensor& images_u8,
                                      torch::Device device, const RegretOptions& options);

// Typicality scores of consecutive batches of `batch` images (a last,
// shorter batch is left out): |mean nll of the batch - entropy|, with the
// entropy estimated as the mean nll of training images.
std::vector<double> typicality_scores(const std::vector<double>& nll, double entropy,
                                      int64_t batch);

}  // namespace vae
