// Hierarchical latents: L stochastic layers z_1 (bottom) .. z_L (top), the
// code [z_1, .., z_L] of width sum_l d_l. Generative path (Burda et al.
// 2015, sec. 5, "two stochastic layers"):
//   p(z_L) p(z_{L-1}|z_L) .. p(z_1|z_2) p(x|z_1),
// p(z_L) the model's prior, each p(z_l|z_{l+1}) = N(mu, diag exp(logvar))
// from a small tanh MLP of z_{l+1}, p(x|z_1) the decoder. Inference:
//   bottom-up (Burda et al.): q(z_1|x) q(z_2|z_1) .. q(z_L|z_{L-1}), q(z_1|x)
//     the encoder's Gaussian, each q(z_{l+1}|z_l) a tanh MLP of the draw z_l;
//   ladder (Sønderby et al. 2016, eqs. 17-21): a deterministic pass
//     h_1 = the encoder's stats, h_{l+1} = MLP(h_l), each h_l read as a
//     Gaussian N(mu^_l, sigma^_l^2); q(z_L|x) = N(mu^_L, sigma^_L^2), and
//     going down, q(z_l|z_{l+1}, x) merges N(mu^_l, sigma^_l^2) with
//     p(z_l|z_{l+1}) = N(mu_p, sigma_p^2) by precision:
//       sigma_q^2 = 1 / (sigma^^-2 + sigma_p^-2),
//       mu_q = (mu^ sigma^^-2 + mu_p sigma_p^-2) sigma_q^2.
// The KL of each layer, per coordinate: closed form where q and p are both
// Gaussians given the draw above (the top layer against N(0, I); every
// ladder layer), else log q - log p at the draw (bottom-up's lower layers:
// there z_{l+1} is drawn after z_l). Their sum is an unbiased estimate of
// E_q[log q(z|x) - log p(z)] for p(z_L) = N(0, I); a learned prior adds its
// part (VAEImpl::top_prior_kl).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "vae/model/network_options.h"
#include "vae/model/posterior.h"

namespace vae {

// One reparameterized draw of the whole code and its KL terms.
struct HierarchyDraw {
  torch::Tensor z;      // [..., D]: [z_1, .., z_L]
  torch::Tensor log_q;  // [...]: log q(z|x)
  torch::Tensor kl;     // [..., D]: each coordinate's KL term (see above)
};

class LatentHierarchyImpl : public torch::nn::Module {
 public:
  // The upper layers' networks; the bottom q(z_1|x) is the encoder's.
  explicit LatentHierarchyImpl(NetworkOptions options);

  // stats: the encoder's output [..., 2 d_1]; eps [..., D] standard normal.
  HierarchyDraw draw(const torch::Tensor& stats, const torch::Tensor& eps) const;
  // log q(z|x) [...] at any code z [..., D], exactly.
  torch::Tensor log_q(const torch::Tensor& stats, const torch::Tensor& z) const;
  // sum_{l<L} log p(z_l|z_{l+1}) [...] (the prior of the top layer is not
  // included: it is the model's Prior, over z_L).
  torch::Tensor log_conditional_prior(const torch::Tensor& z) const;
  // Each layer's q along the means (z_l set to its posterior mean on the way):
  // {mu [..., D], logvar [..., D]}. Its mu is the code pictures decode and
  // whose spread over a data set counts active units per layer.
  std::pair<torch::Tensor, torch::Tensor> mean_pass(const torch::Tensor& stats) const;
  // Ancestral draws: from the top layer's codes [n, d_L] down through
  // p(z_l|z_{l+1}), the spread scaled by temperature -> [n, D].
  torch::Tensor generate(const torch::Tensor& top, double temperature,
                         at::Generator& generator) const;
  // The code z [n, D] with the layers below `layer` (0-based) replaced by the
  // means of p(z_l|z_{l+1}) from it on down: what a picture decodes after
  // setting the coordinates of `layer`.
  torch::Tensor descend(const torch::Tensor& z, int64_t layer) const;

  const std::vector<int64_t>& dims() const { return dims_; }
  // The width of the code, sum_l d_l.
  int64_t code_dim() const { return options_.code_dim(); }
  // The nets, for the exporter: up[l] gives layer l+1's q statistics (from
  // z_l bottom-up, from h_l for the ladder), down[l] p(z_l|z_{l+1}).
  const torch::nn::ModuleList& up() const { return up_; }
  const torch::nn::ModuleList& down() const { return down_; }
  Inference inference() const { return options_.inference(); }

 private:
  std::vector<torch::Tensor> split(const torch::Tensor& z) const;
  // (mu, logvar) of a net's output.
  static std::pair<torch::Tensor, torch::Tensor> gaussian(const torch::Tensor& out);
  std::pair<torch::Tensor, torch::Tensor> up_stats(int64_t layer, const torch::Tensor& in) const;
  std::pair<torch::Tensor, torch::Tensor> down_stats(int64_t layer,
                                                     const torch::Tensor& above) const;
  // The ladder's bottom-up Gaussians N(mu^_l, sigma^_l^2), every layer.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> ladder_up(const torch::Tensor& stats) const;

  NetworkOptions options_;
  std::vector<int64_t> dims_;
  torch::nn::ModuleList up_{nullptr}, down_{nullptr};
};
TORCH_MODULE(LatentHierarchy);

// q(z|x) of a hierarchy as a Posterior (for the objectives, evaluation and
// pictures): reads the encoder's stats with the hierarchy's networks.
std::unique_ptr<Posterior> hierarchical_posterior(const torch::Tensor& stats,
                                                  const LatentHierarchyImpl& hierarchy);

}  // namespace vae
