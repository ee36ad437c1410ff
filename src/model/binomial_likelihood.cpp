// Counts out of N trials (--trials) under a binomial likelihood: the decoder
// emits logits l; pixel value k / 255 is the count k <= N, and
// log p(k) = log C(N, k) + k l - N softplus(l). The mean image is
// N sigmoid(l) / 255 (the input's units).
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

class Binomial final : public LikelihoodFamily {
 public:
  const char* name() const override { return "binomial"; }
  std::string help() const override {
    return "counts k = 255 x out of --trials N, logits from the decoder";
  }
  bool counts() const override { return true; }
  int64_t max_value(const LikelihoodParams& params) const override { return params.trials; }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams& params) const override {
    return log_mass(x, output, params.trials).flatten(1).sum(1);
  }
  torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                             const LikelihoodParams& params) const override {
    return log_mass(x, output, params.trials).sum();
  }
  // N sigmoid(l) / 255: the success probability times N / 255.
  torch::Tensor mean(const torch::Tensor& output) const override { return torch::sigmoid(output); }
  double mean_scale(const LikelihoodParams& params) const override {
    return static_cast<double>(params.trials) / 255.0;
  }
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& params,
                       at::Generator& generator) const override {
    const torch::Tensor n = torch::full_like(output, static_cast<double>(params.trials));
    return at::binomial(n, torch::sigmoid(output), generator) / 255.0;
  }
  std::string script_mean() const override { return "        h = torch.sigmoid(h)\n"; }

 private:
  static torch::Tensor log_mass(const torch::Tensor& x, const torch::Tensor& output,
                                int64_t trials) {
    const double n = static_cast<double>(trials);
    const torch::Tensor k = torch::round(x * 255.0);
    return std::lgamma(n + 1.0) - torch::lgamma(k + 1.0) - torch::lgamma(n - k + 1.0) + k * output -
           n * torch::softplus(output);
  }
};

}  // namespace

const LikelihoodFamily& binomial_likelihood() {
  static const Binomial family;
  return family;
}

}  // namespace vae
