#include "vae/training/norm_test.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "vae/runtime/error.h"

namespace vae {

int64_t NormTest::wanted(int64_t batch, double theta) const {
  constexpr auto most = std::numeric_limits<int64_t>::max();
  if (!(signal > 0.0)) return most;
  const double rows = std::ceil(static_cast<double>(batch) * noise / (theta * theta * signal));
  return rows >= static_cast<double>(most) / 2 ? most : static_cast<int64_t>(rows);
}

NormTest norm_test(const std::vector<torch::Tensor>& micro_means) {
  const int64_t m = static_cast<int64_t>(micro_means.size());
  if (m < 2) throw Error("the norm test needs at least 2 micro-batches");
  const torch::Tensor g = torch::stack(micro_means).to(torch::kFloat64);  // [M, P]
  return norm_test(g.pow(2).sum().item<double>(), g.mean(0).pow(2).sum().item<double>(), m);
}

NormTest norm_test(double squares, double mean_squared, int64_t parts) {
  if (parts < 2) throw Error("the norm test needs at least 2 micro-batches");
  const double m = static_cast<double>(parts);
  NormTest out;
  // Rounding can leave the difference a hair below 0 when the parts agree.
  const double spread = std::max(0.0, squares - m * mean_squared) / (m - 1.0);
  out.noise = spread / m;
  out.signal = mean_squared - out.noise;
  return out;
}

int64_t next_batch_size(int64_t batch, const std::vector<NormTest>& epoch, double theta,
                        int64_t batch_max) {
  if (epoch.empty()) return batch;
  NormTest mean;
  for (const NormTest& t : epoch) {
    mean.noise += t.noise / static_cast<double>(epoch.size());
    mean.signal += t.signal / static_cast<double>(epoch.size());
  }
  if (mean.holds(theta)) return batch;
  return std::clamp(mean.wanted(batch, theta), batch, std::max(batch, batch_max));
}

}  // namespace vae
