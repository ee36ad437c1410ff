// 8-bit pixels under a discretized logistic (Salimans et al. 2017,
// PixelCNN++; Kingma et al. 2016, IAF): the decoder emits pre-sigmoid means
// mu in [0, 1]; the logistic's scale s is fixed or learned per pixel
// (--sigma, --learn-sigma). Pixel value k / 255 gets the logistic's mass on
// its bin [k/255 - 1/510, k/255 + 1/510], the edge bins reaching to -inf and
// +inf, so the 256 probabilities sum to 1: a true likelihood of 8-bit data,
// reported in bits per dimension.
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

class DiscretizedLogistic final : public LikelihoodFamily {
 public:
  const char* name() const override { return "discretized-logistic"; }
  std::string help() const override {
    return "8-bit pixels, logistic mass of each of the 256 bins; mean sigmoid(output), scale "
           "--sigma fixed or learned";
  }
  bool has_scale() const override { return true; }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams& params) const override {
    return log_mass(x, output, params.log_sigma).flatten(1).sum(1);
  }
  torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                             const LikelihoodParams& params) const override {
    return log_mass(x, output, params.log_sigma).sum();
  }
  torch::Tensor mean(const torch::Tensor& output) const override { return torch::sigmoid(output); }
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& params,
                       at::Generator& generator) const override {
    // A logistic draw mu + s log(u / (1 - u)), put into its bin.
    const torch::Tensor u =
        at::rand(output.sizes(), generator, output.options()).clamp(1e-6, 1.0 - 1e-6);
    const torch::Tensor y = mean(output) + params.log_sigma.exp() * (u.log() - (-u).log1p());
    return (y * 255.0).round().clamp(0.0, 255.0) / 255.0;
  }
  std::string script_mean() const override { return "        h = torch.sigmoid(h)\n"; }

 private:
  static torch::Tensor log_mass(const torch::Tensor& x, const torch::Tensor& output,
                                const torch::Tensor& log_s) {
    constexpr double kHalfBin = 0.5 / 255.0;
    const torch::Tensor inv_s = torch::exp(-log_s);
    const torch::Tensor centred = x - torch::sigmoid(output);
    const torch::Tensor upper = inv_s * (centred + kHalfBin);  // the bin's edges, standardised
    const torch::Tensor lower = inv_s * (centred - kHalfBin);
    // log sigma(a) = a - softplus(a); log (1 - sigma(a)) = -softplus(a).
    const torch::Tensor log_cdf_upper = upper - torch::softplus(upper);
    const torch::Tensor log_cdf_lower = lower - torch::softplus(lower);
    const torch::Tensor log_survival_upper = -torch::softplus(upper);
    const torch::Tensor log_survival_lower = -torch::softplus(lower);
    // Inner bins: log(F(upper) - F(lower)) in log space, without the
    // cancellation of the difference: log F(u) + log(1 - F(l) / F(u)) left of
    // the mean, log S(l) + log(1 - S(u) / S(l)) right of it (S = 1 - F).
    const auto log_difference = [](const torch::Tensor& larger, const torch::Tensor& smaller) {
      return larger + torch::log(-torch::expm1((smaller - larger).clamp_max(-1e-30)));
    };
    const torch::Tensor inner =
        torch::where(centred > 0, log_difference(log_survival_lower, log_survival_upper),
                     log_difference(log_cdf_upper, log_cdf_lower));
    return torch::where(x < 0.5 * kHalfBin, log_cdf_upper,
                        torch::where(x > 1.0 - 0.5 * kHalfBin, log_survival_lower, inner));
  }
};

}  // namespace

const LikelihoodFamily& discretized_logistic_likelihood() {
  static const DiscretizedLogistic family;
  return family;
}

}  // namespace vae
