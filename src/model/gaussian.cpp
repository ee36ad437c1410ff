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

torch::Tensor log_normal_mixture(const torch::Tensor& z, const torch::Tensor& mu,
                                 const torch::Tensor& logvar, const torch::Tensor& log_weights) {
  static const double kLog2Pi = std::log(2.0 * M_PI);
  const int64_t d = z.size(-1);
  std::vector<int64_t> shape = z.sizes().vec();
  shape.pop_back();
  const torch::Tensor flat = z.reshape({-1, d});        // [B, D]
  const torch::Tensor precision = torch::exp(-logvar);  // [K, D]
  // sum_d (z_d - mu_kd)^2 / sigma_kd^2 = z^2 . p_k - 2 z . (mu p)_k + (mu^2 p)_k
  const torch::Tensor squared = (flat * flat).mm(precision.t()) -  // [B, K]
                                2.0 * flat.mm((mu * precision).t()) +
                                (mu * mu * precision).sum(1).unsqueeze(0);
  const torch::Tensor log_normal =
      -0.5 * (squared + logvar.sum(1).unsqueeze(0) + static_cast<double>(d) * kLog2Pi);
  return torch::logsumexp(log_normal + log_weights.unsqueeze(0), 1).reshape(shape);
}

std::string gaussian_mixture_script_sample() {
  return "        c = torch.multinomial(torch.softmax(self.prior_logits, 0), n, True)\n"
         "        eps = torch.randn([n, self.latent_dim], device=self.prior_means.device)\n"
         "        z = self.prior_means.index_select(0, c) + "
         "torch.exp(0.5 * self.prior_logvars.index_select(0, c)) * eps\n";
}

}  // namespace vae
