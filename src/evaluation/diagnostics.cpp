#include "vae/evaluation/diagnostics.h"

#include <torch/torch.h>

namespace vae {

torch::Tensor posterior_mean_variance(const torch::Tensor& mu) {
  return mu.to(torch::kFloat64).var(/*dim=*/0, /*unbiased=*/false).to(torch::kFloat32);
}

int64_t count_active_units(const torch::Tensor& mu, double threshold) {
  return posterior_mean_variance(mu).gt(threshold).sum().item<int64_t>();
}

}  // namespace vae
