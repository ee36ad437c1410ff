#include "vae/model/gaussian.h"

#include <torch/torch.h>

#include <cmath>

namespace vae {

torch::Tensor reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar) {
  const torch::Tensor sigma = torch::exp(0.5 * logvar);
  return mu + sigma * torch::randn_like(sigma);
}

torch::Tensor reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar,
                             const torch::Tensor& eps) {
  return mu + torch::exp(0.5 * logvar) * eps;
}

torch::Tensor kl_standard_normal(const torch::Tensor& mu, const torch::Tensor& logvar) {
  return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar);
}

torch::Tensor log_normal_diag(const torch::Tensor& z, const torch::Tensor& mu,
                              const torch::Tensor& logvar) {
  static const double kLog2Pi = std::log(2.0 * M_PI);
  const torch::Tensor sq = (z - mu).pow(2) * torch::exp(-logvar);
  return -0.5 * (sq + logvar + kLog2Pi).sum(-1);
}

}  // namespace vae
