// q(z|x) = N(mu(x), diag exp(logvar(x))), the mean-field Gaussian of Kingma &
// Welling 2013 (sec. 2.4, app. B): stats = [mu, logvar], each [N, latent].
#include <torch/torch.h>

#include "gaussian_script.h"
#include "vae/model/gaussian.h"
#include "vae/model/gaussian_mutual_information.h"
#include "vae/model/network_options.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"

namespace vae {
namespace {

class DiagonalGaussian final : public Posterior {
 public:
  DiagonalGaussian(torch::Tensor mu, torch::Tensor logvar)
      : mu_(std::move(mu)), logvar_(std::move(logvar)) {}

  torch::Tensor rsample(const torch::Tensor& eps) const override {
    return reparameterize(mu_, logvar_, eps);
  }
  torch::Tensor log_prob(const torch::Tensor& z) const override {
    return log_normal_diag(z, mu_, logvar_);
  }
  torch::Tensor kl_per_dim(const Prior& prior) const override {
    return prior.standard_normal() ? kl_standard_normal(mu_, logvar_) : torch::Tensor();
  }
  torch::Tensor mean() const override { return mu_; }
  int64_t noise_size() const override { return mu_.size(-1); }
  std::unique_ptr<Posterior> expand(int64_t samples) const override {
    const int64_t n = mu_.size(0), d = mu_.size(-1);
    return std::make_unique<DiagonalGaussian>(mu_.unsqueeze(1).expand({n, samples, d}),
                                              logvar_.unsqueeze(1).expand({n, samples, d}));
  }
  std::vector<torch::Tensor> outputs() const override { return {mu_, logvar_}; }

 private:
  torch::Tensor mu_, logvar_;
};

class DiagonalGaussianFamily final : public PosteriorFamily {
 public:
  const char* name() const override { return "diagonal-gaussian"; }
  std::string help() const override { return "N(mu(x), diag sigma(x)^2)"; }
  int64_t stats_size(const NetworkOptions& o) const override { return 2 * o.latent_dim(); }
  int64_t noise_size(const NetworkOptions& o) const override { return o.latent_dim(); }
  std::unique_ptr<Posterior> read(
      const torch::Tensor& stats, const NetworkOptions& /*options*/,
      const std::shared_ptr<torch::nn::Module>& /*parameters*/) const override {
    auto halves = stats.chunk(2, /*dim=*/1);
    return std::make_unique<DiagonalGaussian>(halves[0], halves[1]);
  }
  torch::Tensor unit_means(const torch::Tensor& stats,
                           const NetworkOptions& /*options*/) const override {
    return stats.chunk(2, /*dim=*/1)[0];
  }
  bool closed_form_kl(const Prior& prior) const override { return prior.standard_normal(); }

  std::vector<std::pair<std::string, torch::Tensor>> columns(const Posterior& q,
                                                             const NetworkOptions& /*options*/,
                                                             int64_t /*samples*/) const override {
    const std::vector<torch::Tensor> outputs = q.outputs();
    return {
        {"mu", outputs.at(0).to(torch::kCPU, torch::kFloat32).contiguous()},
        {"sigma", torch::exp(0.5 * outputs.at(1).to(torch::kCPU, torch::kFloat32)).contiguous()}};
  }
  double mutual_information(const torch::Tensor& stats, const WorkSplit& split) const override {
    auto halves = stats.chunk(2, /*dim=*/1);
    return vae::mutual_information(halves[0].contiguous(), halves[1].contiguous(), split);
  }

  Script script(const NetworkOptions& /*options*/,
                const std::shared_ptr<torch::nn::Module>& /*parameters*/) const override {
    return {gaussian_script_methods(""), {}, gaussian_script_docs(/*flow=*/false)};
  }
  std::vector<std::string> output_names() const override { return {"mu", "logvar"}; }
};

}  // namespace

const PosteriorFamily& diagonal_gaussian_posterior() {
  static const DiagonalGaussianFamily family;
  return family;
}

}  // namespace vae
