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
  const size_t m = micro_means.size();
  if (m < 2) throw Error("the norm test needs at least 2 micro-batches");
  const torch::Tensor g = torch::stack(micro_means).to(torch::kFloat64);  // [M, P]
  const torch::Tensor mean = g.mean(0);
  NormTest out;
  const double spread = (g - mean).pow(2).sum().item<double>() / static_cast<double>(m - 1);
  out.noise = spread / static_cast<double>(m);
  out.signal = mean.pow(2).sum().item<double>() - out.noise;
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
