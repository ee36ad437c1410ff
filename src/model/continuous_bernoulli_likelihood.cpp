// The continuous Bernoulli (Loaiza-Ganem & Cunningham 2019, "The continuous
// Bernoulli: fixing a pervasive error in variational autoencoders"): the
// normalised density for grey levels x in [0, 1],
//   p(x | lambda) = C(lambda) lambda^x (1 - lambda)^(1 - x),
//   C(lambda) = 2 atanh(1 - 2 lambda) / (1 - 2 lambda),   C(1/2) = 2  (eq. 3).
// The decoder emits logits l, lambda = sigmoid(l). With u = l / 2,
// 1 - 2 lambda = -tanh(u) and atanh(1 - 2 lambda) = -u, so
//   C = 2 u / tanh(u),   log C = log 2 + log(u coth u),
// which is smooth at u = 0; near it (lambda near 1/2, where the formula is
// 0/0) the series log(u coth u) = u^2/3 - 7 u^4/90 + O(u^6) is used.
// The mean (eq. 5) is E[x] = lambda / (2 lambda - 1) + 1 / (2 atanh(1 - 2
// lambda))
//   = 1/2 + (coth u - 1/u) / 2,   coth u - 1/u = u/3 - u^3/45 + O(u^5).
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

// |u| below this takes the series: its next terms are below 1e-12.
constexpr double kSeriesBelow = 1e-2;

// log(u coth u), elementwise, stable at u = 0 and for large |u|.
torch::Tensor log_u_coth_u(const torch::Tensor& u) {
  const torch::Tensor a = u.abs();
  const torch::Tensor small = a.lt(kSeriesBelow);
  const torch::Tensor safe = torch::where(small, torch::ones_like(a), a);
  const torch::Tensor exact = safe.log() - torch::tanh(safe).log();
  const torch::Tensor u2 = u * u;
  const torch::Tensor series = u2 / 3.0 - 7.0 / 90.0 * u2 * u2;
  return torch::where(small, series, exact);
}

class ContinuousBernoulli final : public LikelihoodFamily {
 public:
  const char* name() const override { return "continuous-bernoulli"; }
  std::string help() const override {
    return "normalised density for grey levels in [0, 1] (Loaiza-Ganem & "
           "Cunningham 2019)";
  }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams& /*params*/) const override {
    return log_density(x, output).flatten(1).sum(1);
  }
  torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                             const LikelihoodParams& /*params*/) const override {
    return log_density(x, output).sum();
  }
  torch::Tensor mean(const torch::Tensor& output) const override {
    const torch::Tensor u = 0.5 * output;
    const torch::Tensor small = u.abs().lt(kSeriesBelow);
    const torch::Tensor safe = torch::where(small, torch::ones_like(u), u);
    const torch::Tensor exact = 1.0 / torch::tanh(safe) - 1.0 / safe;
    const torch::Tensor series = u / 3.0 - u.pow(3) / 45.0;
    return 0.5 + 0.5 * torch::where(small, series, exact);
  }
  // Inverse CDF (Loaiza-Ganem & Cunningham, appendix): with e = exp(l),
  //   x = log(1 + v (e - 1)) / l,  v ~ U(0, 1),
  // written as 1 + log(v + (1 - v) exp(-l)) / l for l > 0 so that exp(l)
  // cannot overflow; x = v at l = 0.
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& /*params*/,
                       at::Generator& generator) const override {
    const torch::Tensor l = output.to(torch::kFloat64);
    const torch::Tensor v = at::rand(l.sizes(), generator, l.options());
    const torch::Tensor tiny = l.abs().lt(1e-6);
    const torch::Tensor safe = torch::where(tiny, torch::ones_like(l), l);
    const torch::Tensor negative = torch::log1p(v * torch::expm1(safe)) / safe;
    const torch::Tensor positive = 1.0 + torch::log(v + (1.0 - v) * torch::exp(-safe)) / safe;
    const torch::Tensor x = torch::where(safe.gt(0), positive, negative);
    return torch::where(tiny, v, x).clamp(0.0, 1.0).to(output.scalar_type());
  }
  std::string script_mean() const override {
    // The mean above, in TorchScript.
    return "        u = 0.5 * h\n"
           "        small = u.abs() < 0.01\n"
           "        safe = torch.where(small, torch.ones_like(u), u)\n"
           "        exact = 1.0 / torch.tanh(safe) - 1.0 / safe\n"
           "        h = 0.5 + 0.5 * torch.where(small, u / 3.0 - u.pow(3) / "
           "45.0, exact)\n";
  }

 private:
  // x l - softplus(l) + log 2 + log(u coth u), u = l / 2, per element.
  static torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& output) {
    static const double kLog2 = std::log(2.0);
    return x * output - torch::softplus(output) + kLog2 + log_u_coth_u(0.5 * output);
  }
};

}  // namespace

const LikelihoodFamily& continuous_bernoulli_likelihood() {
  static const ContinuousBernoulli family;
  return family;
}

}  // namespace vae
