// Gaussian pixels: the decoder emits pre-sigmoid means (pixels live in
// [0, 1]); the standard deviation is fixed, or learned per pixel.
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

class Gaussian final : public LikelihoodFamily {
 public:
  const char* name() const override { return "gaussian"; }
  std::string help() const override { return "mean sigmoid(output), --sigma fixed or learned"; }
  bool has_scale() const override { return true; }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams& params) const override {
    return log_density(x, output, params.log_sigma).flatten(1).sum(1);
  }
  torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                             const LikelihoodParams& params) const override {
    return log_density(x, output, params.log_sigma).sum();
  }
  torch::Tensor mean(const torch::Tensor& output) const override { return torch::sigmoid(output); }
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& params,
                       at::Generator& generator) const override {
    const torch::Tensor means = mean(output);
    return means + params.log_sigma.exp() * at::randn(means.sizes(), generator, means.options());
  }
  std::string script_mean() const override { return "        h = torch.sigmoid(h)\n"; }

 private:
  // log N(x; mu, sigma^2) per element: -0.5 (x - mu)^2 / sigma^2 - log sigma - 0.5 log 2 pi.
  static torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& output,
                                   const torch::Tensor& log_sigma) {
    static const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);
    const torch::Tensor mean = torch::sigmoid(output);
    return -0.5 * (x - mean).pow(2) * torch::exp(-2.0 * log_sigma) - log_sigma - kHalfLog2Pi;
  }
};

}  // namespace

const LikelihoodFamily& gaussian_likelihood() {
  static const Gaussian family;
  return family;
}

}  // namespace vae
