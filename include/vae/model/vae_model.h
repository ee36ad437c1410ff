// The variational autoencoder: encoder q(z|x), decoder p(x|z), prior p(z),
// each read through its registered family (model/), and the evidence lower
// bound (Kingma & Welling 2013, eq. 10):
//   ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)),
// estimated with one reparameterized sample, the KL in closed form where the
// posterior family has one for the prior, else by log q(z|x) - log p(z) at
// the sample.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "vae/model/decoder.h"
#include "vae/model/encoder.h"
#include "vae/model/latent_hierarchy.h"
#include "vae/model/network_options.h"

namespace vae {

// One minibatch's objective and its parts, each averaged over the batch
// (nats per image). The mean over a uniformly drawn minibatch is an unbiased
// estimate of the data set's mean ELBO (stochastic variational inference).
struct ElboTerms {
  torch::Tensor loss;        // scalar: recon + beta * sum_d max(free_bits, kl_d)
  torch::Tensor recon;       // scalar: -E_q[log p(x|z)]
  torch::Tensor kl;          // scalar: KL(q(z|x) || p(z)), all dimensions
  torch::Tensor kl_per_dim;  // [latent]: the KL of each dimension ([1]: no closed form)
};

// The ELBO's parts summed (not averaged) over the rows of a batch.
struct ElboSums {
  torch::Tensor recon;       // scalar: -sum_i log p(x_i|z_i)
  torch::Tensor kl_per_dim;  // [latent]: sum_i KL(q(z_d|x_i) || p(z_d)); [1]: no closed form
  torch::Tensor stats;       // [N, stats_size]: the encoder's output, q(z|x)'s statistics
                             // (a hierarchy: every layer's along the means, eval mode only)
};

// The objective of a global batch of `batch` rows from the sums over a shard
// of `shard_rows` of them (data-parallel training; a single process passes
// shard_rows == batch). Every term is the shard's sum / batch, so the ranks'
// terms add up to the batch means, and so do their gradients.
// `batch_kl_per_dim` is the global batch-mean KL per dimension, which free
// bits compare with the floor: a dimension below it contributes the constant
// floor (its share shard_rows / batch of it) and no gradient.
// Free bits (Kingma et al. 2016, eq. 15): the objective takes
// max(free_bits, KL_d) of each dimension's batch-mean KL, so the dimensions
// below the floor contribute a constant and no gradient. This is the mask
// of those dimensions [latent] (bool).
torch::Tensor free_bits_held(const torch::Tensor& batch_kl_per_dim, double free_bits);

ElboTerms elbo_terms(const ElboSums& sums, int64_t shard_rows, int64_t batch, double beta,
                     double free_bits, const torch::Tensor& batch_kl_per_dim);

class VAEImpl : public torch::nn::Module {
 public:
  explicit VAEImpl(NetworkOptions options = {});

  // q(z|x) for x in [0, 1], [N, C, H, W] (views into the encoder's output);
  // for a hierarchy, of the whole code [z_1, .., z_L].
  std::unique_ptr<Posterior> encode(const torch::Tensor& x);
  // q(z|x) from the encoder's output stats [N, encoder stats].
  std::unique_ptr<Posterior> read_posterior(const torch::Tensor& stats) const;
  // The width of ElboSums::stats: the encoder's output, or for a hierarchy
  // every layer's (mu, logvar) along the means [N, 2 D].
  int64_t stats_size() const;
  // The width of the code z (sum of the layers' widths).
  int64_t code_dim() const { return options_.code_dim(); }
  const PosteriorFamily& posterior_family() const { return *options_.posterior(); }
  const Prior& prior() const { return *options_.prior(); }
  // What the prior reads: the settings, its parameters, the encoder.
  PriorContext prior_context();
  // log p(z) [...] of codes z [..., code_dim]: a hierarchy's conditionals
  // p(z_l|z_{l+1}) and the prior of its top layer.
  torch::Tensor log_prior(const torch::Tensor& z);
  // n codes [n, code_dim] from p(z) (a hierarchy: ancestral), the spread
  // scaled by temperature, drawn from `generator`.
  torch::Tensor sample_codes(int64_t n, double temperature, at::Generator& generator);
  // The hierarchy's module, or nullptr for one latent layer.
  const LatentHierarchy& hierarchy() const { return hierarchy_; }
  // Sets the relaxation temperature of a family that has one (the
  // categorical posterior's buffer "posterior.temperature"); else nothing.
  void set_temperature(double tau);
  const LikelihoodFamily& likelihood() const { return *options_.likelihood(); }
  // The standard normal noise one reparameterized draw needs per image.
  int64_t noise_size() const;
  // Decoder output (logits or pre-sigmoid means) [N, C, H, W] of codes
  // [N, code_dim] (a hierarchy decodes its bottom layer).
  torch::Tensor decode(const torch::Tensor& z);
  // Pixel means in [0, 1] for latent codes z.
  torch::Tensor generate(const torch::Tensor& z);

  // The negative-ELBO training objective for x in [0, 1], [N, C, H, W].
  // beta weighs the KL (annealing; 1 is the true ELBO); free_bits (nats per
  // dimension, Kingma et al. 2016) stops the optimiser from pushing a
  // dimension's batch-mean KL below that floor. recon, kl and kl_per_dim are
  // always the true, unweighted quantities.
  ElboTerms elbo(const torch::Tensor& x, double beta = 1.0, double free_bits = 0.0);

  // The ELBO's parts summed over the rows of x, with the reparameterization
  // noise eps [N, noise_size()] given.
  ElboSums elbo_sums(const torch::Tensor& x, const torch::Tensor& eps);

  const NetworkOptions& options() const { return options_; }
  // The posterior family's own parameters (IAF's networks), or nullptr.
  const std::shared_ptr<torch::nn::Module>& posterior_parameters() const {
    return posterior_parameters_;
  }
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};

 private:
  NetworkOptions options_;
  NetworkOptions top_options_;  // the top layer's settings, which the prior reads
  // The posterior family's own parameters (submodule "posterior"), or nullptr.
  std::shared_ptr<torch::nn::Module> posterior_parameters_;
  // The prior's (submodule "prior"), or nullptr.
  std::shared_ptr<torch::nn::Module> prior_parameters_;
  // The upper latent layers' networks (submodule "hierarchy"), only for
  // --latent-layers > 1.
  LatentHierarchy hierarchy_{nullptr};

  // A hierarchy's KL terms per coordinate [N, code_dim] (HierarchyDraw::kl)
  // with a learned top prior's part added at the draw z [N, code_dim].
  torch::Tensor top_prior_kl(const torch::Tensor& z, const torch::Tensor& kl);
};
TORCH_MODULE(VAE);

}  // namespace vae
