// Probabilistic PCA (Tipping & Bishop 1999), the proof tests' model with a
// closed-form likelihood: p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I), so
// p(x) = N(b, W W^T + s^2 I) and the posterior is
// p(z|x) = N(M^-1 W^T (x - b), s^2 M^-1), M = W^T W + s^2 I: diagonal when
// W's columns are orthogonal (the default model), correlated otherwise.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <utility>

#include "vae/model/gaussian.h"
#include "vae/objective/importance_sampling.h"

namespace vae::testing {

struct Ppca {
  torch::Tensor w, b;  // [P, D], [P]
  double s = 0.5;

  // P = 5, D = 2, orthogonal columns of lengths 2 and 0.7.
  Ppca() {
    torch::manual_seed(0);
    const torch::Tensor q = std::get<0>(torch::linalg::qr(torch::randn({5, 2}, torch::kFloat64)));
    w = q * torch::tensor({2.0, 0.7}, torch::kFloat64);
    b = torch::randn({5}, torch::kFloat64);
  }
  Ppca(torch::Tensor weights, torch::Tensor bias) : w(std::move(weights)), b(std::move(bias)) {}

  int64_t data_dim() const { return w.size(0); }
  int64_t latent_dim() const { return w.size(1); }
  torch::Tensor sample(int64_t n) const {
    return torch::randn({n, latent_dim()}, torch::kFloat64).mm(w.t()) + b +
           s * torch::randn({n, data_dim()}, torch::kFloat64);
  }
  torch::Tensor exact_log_px(const torch::Tensor& x) const {
    const int64_t p = data_dim();
    const torch::Tensor c = w.mm(w.t()) + s * s * torch::eye(p, torch::kFloat64);
    const torch::Tensor diff = x - b;
    const torch::Tensor quad = (diff.mm(c.inverse()) * diff).sum(1);
    return -0.5 * (static_cast<double>(p) * std::log(2 * M_PI) + c.logdet() + quad);
  }
  // The exact posterior's mean and log variances, orthogonal W only.
  std::pair<torch::Tensor, torch::Tensor> exact_posterior(const torch::Tensor& x) const {
    const torch::Tensor m = (w * w).sum(0) + s * s;  // diagonal of M
    return {(x - b).mm(w) / m,
            torch::log(s * s / m).expand({x.size(0), latent_dim()}).contiguous()};
  }
  // The posterior's precision M / s^2 [D, D], the same for every x.
  torch::Tensor posterior_precision() const {
    return (w.t().mm(w) + s * s * torch::eye(latent_dim(), torch::kFloat64)) / (s * s);
  }
  // min over diagonal Gaussians q of KL(q || p(z|x)): q's precisions are the
  // diagonal of the posterior's, and the KL is
  // 0.5 (sum_d log Lambda_dd - log det Lambda) (Bishop 2006, sec. 10.1.2).
  double best_diagonal_gap() const {
    const torch::Tensor lambda = posterior_precision();
    return 0.5 * (lambda.diagonal().log().sum() - lambda.logdet()).item<double>();
  }
  LogJoint log_joint() const {
    return [this](const torch::Tensor& x, const torch::Tensor& z) {
      const torch::Tensor mean = z.mm(w.t()) + b;
      const torch::Tensor zeros = torch::zeros_like(z);
      return log_normal_diag(x, mean, torch::full_like(mean, std::log(s * s))) +
             log_normal_diag(z, zeros, zeros);
    };
  }
};

}  // namespace vae::testing
