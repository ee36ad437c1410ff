#include "vae/views/latent_views.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "vae/runtime/error.h"

namespace vae {

torch::Tensor prior_codes(VAEImpl& model, int64_t n, double temperature, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  return model.sample_codes(n, temperature, generator);
}

torch::Tensor interpolate_codes(const torch::Tensor& a, const torch::Tensor& b, int64_t steps,
                                bool spherical) {
  if (steps < 2) throw Error("--steps must be at least 2");
  const torch::Tensor t = torch::linspace(0.0, 1.0, steps, torch::kFloat64).unsqueeze(1);
  const torch::Tensor x = a.to(torch::kFloat64).flatten().unsqueeze(0);
  const torch::Tensor y = b.to(torch::kFloat64).flatten().unsqueeze(0);
  torch::Tensor out;
  const double norms = x.norm().item<double>() * y.norm().item<double>();
  const double cosine =
      norms > 0.0 ? std::clamp((x * y).sum().item<double>() / norms, -1.0, 1.0) : 1.0;
  const double omega = std::acos(cosine);
  if (!spherical || std::sin(omega) < 1e-6) {
    out = (1.0 - t) * x + t * y;  // nearly parallel codes: slerp tends to lerp
  } else {
    out = (torch::sin((1.0 - t) * omega) * x + torch::sin(t * omega) * y) / std::sin(omega);
  }
  return out.to(torch::kFloat32);
}

torch::Tensor traversal_codes(const torch::Tensor& center, const std::vector<int64_t>& dims,
                              int64_t steps, double range) {
  if (steps < 2) throw Error("--steps must be at least 2");
  const torch::Tensor base = center.to(torch::kFloat32).flatten();
  const torch::Tensor values = torch::linspace(-range, range, steps, torch::kFloat32);
  std::vector<torch::Tensor> rows;
  for (int64_t d : dims) {
    torch::Tensor row = base.unsqueeze(0).repeat({steps, 1});
    row.select(1, d).copy_(values);
    rows.push_back(row);
  }
  return torch::cat(rows);
}

torch::Tensor manifold_codes(int64_t dim, int64_t a, int64_t b, int64_t n) {
  if (n < 1) throw Error("--n must be positive");
  // Phi^-1(p) = sqrt(2) erfinv(2p - 1).
  const torch::Tensor p = (torch::arange(n, torch::kFloat64) + 0.5) / static_cast<double>(n);
  const torch::Tensor values = std::sqrt(2.0) * torch::erfinv(2.0 * p - 1.0);
  torch::Tensor codes = torch::zeros({n * n, dim}, torch::kFloat64);
  for (int64_t row = 0; row < n; ++row) {
    for (int64_t col = 0; col < n; ++col) {
      codes[row * n + col][a] = values[col];
      codes[row * n + col][b] = values[n - 1 - row];  // up is positive, as on a plot
    }
  }
  return codes.to(torch::kFloat32);
}

std::vector<int64_t> dims_by_kl(const std::vector<double>& kl_per_dim) {
  std::vector<int64_t> order(kl_per_dim.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t i, int64_t j) { return kl_per_dim[i] > kl_per_dim[j]; });
  return order;
}

torch::Tensor pca_project(const torch::Tensor& points, int64_t k) {
  const torch::Tensor x = points.to(torch::kFloat64);
  const torch::Tensor centred = x - x.mean(0, /*keepdim=*/true);
  const torch::Tensor cov = centred.t().mm(centred) / std::max<int64_t>(1, x.size(0) - 1);
  // The ATen operator, in LibTorch 1.13 and 2.x alike (2.11 ships no torch/linalg.h).
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(cov, "L");  // ascending
  torch::Tensor components = eigenvectors.flip({1}).narrow(1, 0, k).clone();
  for (int64_t c = 0; c < k; ++c) {
    const torch::Tensor column = components.select(1, c);
    const int64_t largest = column.abs().argmax().item<int64_t>();
    if (column[largest].item<double>() < 0.0) column.neg_();
  }
  return centred.mm(components).to(torch::kFloat32);
}

}  // namespace vae
