// What the flow posteriors (planar, iaf) share: a diagonal Gaussian base
// q_0(z_0|x) = N(mu(x), diag exp(logvar(x))) followed by an invertible map,
// so that (Rezende & Mohamed 2015, eq. 7)
//   log q(z_K|x) = log q_0(z_0|x) - log|det dz_K/dz_0|.
// stats [N, P] (or [N, S, P] after expand) begin with mu (D) and logvar (D);
// each family reads the rest.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vae/model/network_options.h"
#include "vae/model/posterior.h"

namespace vae {

class GaussianFlow : public Posterior {
 public:
  GaussianFlow(torch::Tensor stats, int64_t latent) : stats_(std::move(stats)), d_(latent) {}

  // z [..., D] through the map; adds log|det dz_K/dz| [...] to *log_det
  // (which starts undefined) when given.
  virtual torch::Tensor flow(torch::Tensor z, torch::Tensor* log_det) const = 0;
  // The base draw z_0 [..., D] the map sends to z [..., D]: the inverse
  // map, computed in float64 (planar: a scalar root per step; iaf: one
  // pass per dimension and step). No gradient.
  virtual torch::Tensor inverse(torch::Tensor z) const = 0;
  // The same posterior read from `stats` (expand's [N, S, P]).
  virtual std::unique_ptr<Posterior> with_stats(torch::Tensor stats) const = 0;
  // "--posterior planar", for messages.
  virtual std::string flag() const = 0;

  torch::Tensor rsample(const torch::Tensor& eps) const override;
  PosteriorDraw rsample_with_log_prob(const torch::Tensor& eps) const override;
  // log q(z|x) = log q_0(z_0|x) - log|det dz/dz_0| at z_0 = inverse(z)
  // (evaluation and export; no gradient).
  torch::Tensor log_prob(const torch::Tensor& z) const override;
  torch::Tensor kl_per_dim(const Prior& prior) const override;
  torch::Tensor mean() const override;
  int64_t noise_size() const override { return d_; }
  std::unique_ptr<Posterior> expand(int64_t samples) const override;
  std::vector<torch::Tensor> outputs() const override { return {mu(), logvar()}; }

 protected:
  torch::Tensor mu() const { return stats_.narrow(-1, 0, d_); }
  torch::Tensor logvar() const { return stats_.narrow(-1, d_, d_); }
  // The family's part of the stats, after mu and logvar.
  torch::Tensor rest() const { return stats_.narrow(-1, 2 * d_, stats_.size(-1) - 2 * d_); }
  // The stats laid against codes z [..., D] (one image's stats for each of
  // its S codes when z is [N, S, D] and the stats [N, P]).
  torch::Tensor stats_for(const torch::Tensor& z) const;
  int64_t latent() const { return d_; }

 private:
  torch::Tensor stats_;
  int64_t d_;
};

// *total += term, starting from an undefined *total.
void accumulate(torch::Tensor* total, const torch::Tensor& term);

class GaussianFlowFamily : public PosteriorFamily {
 public:
  int64_t noise_size(const NetworkOptions& o) const override { return o.latent_dim(); }
  // The base Gaussian's means.
  torch::Tensor unit_means(const torch::Tensor& stats, const NetworkOptions& o) const override;
  bool closed_form_kl(const Prior& prior) const override;

  // The mean and standard deviation of `samples` draws.
  std::vector<std::pair<std::string, torch::Tensor>> columns(const Posterior& q,
                                                             const NetworkOptions& options,
                                                             int64_t samples) const override;
  Script script(const NetworkOptions& options,
                const std::shared_ptr<torch::nn::Module>& parameters) const override;
  // The base Gaussian's parameters.
  std::vector<std::string> output_names() const override { return {"mu", "logvar"}; }

 protected:
  // The source of `def flow(self, stats, z)` for the exported encoder
  // (gaussian_script.h), adding the tensors it reads to *tensors.
  virtual std::string flow_script(
      const NetworkOptions& options, const std::shared_ptr<torch::nn::Module>& parameters,
      std::vector<std::pair<std::string, torch::Tensor>>* tensors) const = 0;
};

}  // namespace vae
