// Counts under a Poisson likelihood: the decoder emits log rates l; pixel
// value k / 255 is the count k, and log p(k) = k l - exp(l) - log k!. The
// mean image is the rate / 255 (the input's units).
#include <torch/torch.h>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

class Poisson final : public LikelihoodFamily {
 public:
  const char* name() const override { return "poisson"; }
  std::string help() const override { return "counts k = 255 x, log rates from the decoder"; }
  bool counts() const override { return true; }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams& /*params*/) const override {
    return log_mass(x, output).flatten(1).sum(1);
  }
  torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                             const LikelihoodParams& /*params*/) const override {
    return log_mass(x, output).sum();
  }
  torch::Tensor mean(const torch::Tensor& output) const override {
    return torch::exp(output) / 255.0;
  }
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& /*params*/,
                       at::Generator& generator) const override {
    return at::poisson(torch::exp(output), generator).clamp_max(255.0) / 255.0;
  }
  std::string script_mean() const override { return "        h = torch.exp(h) / 255.0\n"; }

 private:
  static torch::Tensor log_mass(const torch::Tensor& x, const torch::Tensor& output) {
    const torch::Tensor k = torch::round(x * 255.0);
    return k * output - torch::exp(output) - torch::lgamma(k + 1.0);
  }
};

}  // namespace

const LikelihoodFamily& poisson_likelihood() {
  static const Poisson family;
  return family;
}

}  // namespace vae
