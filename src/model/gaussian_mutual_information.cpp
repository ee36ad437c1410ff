#include "vae/model/gaussian_mutual_information.h"

#include <torch/torch.h>

#include <cmath>

#include "vae/model/gaussian.h"
#include "vae/runtime/distributed.h"

namespace vae {

double mutual_information(const torch::Tensor& mu_in, const torch::Tensor& logvar_in,
                          const WorkSplit& split) {
  static const double kLog2Pi = std::log(2.0 * M_PI);
  // Double precision: the expansion below subtracts large terms when some
  // posterior variances are small.
  const torch::Tensor mu = mu_in.to(torch::kFloat64);
  const torch::Tensor logvar = logvar_in.to(torch::kFloat64);
  const int64_t n = mu.size(0);

  // E_x E_q log q(z|x) = -0.5 * mean_x sum_d (log 2 pi + 1 + logvar_d).
  const double neg_entropy = (-0.5 * (kLog2Pi + 1.0 + logvar).sum(1)).mean().item<double>();

  const torch::Tensor z = reparameterize(mu, logvar);
  // log q(z_i | x_j) = -0.5 sum_d [z_id^2 w_jd - 2 z_id mu_jd w_jd + mu_jd^2 w_jd
  //                                + logvar_jd + log 2 pi],   w = exp(-logvar)
  //                  = A_i . B_j  with A_i = [z_i^2, z_i, 1] and
  //                    B_j = -0.5 [w_j, -2 mu_j w_j, sum_d (mu^2 w + logvar + log 2 pi)].
  const torch::Tensor w = torch::exp(-logvar);
  const torch::Tensor a = torch::cat({z.pow(2), z, torch::ones({n, 1}, z.options())}, 1);
  const torch::Tensor c = (mu.pow(2) * w + logvar + kLog2Pi).sum(1, /*keepdim=*/true);
  const torch::Tensor b = -0.5 * torch::cat({w, -2.0 * mu * w, c}, 1);

  // Row chunks keep the block at 2M entries (16 MB in double): the whole
  // N x N matrix for the test set would be 800 MB.
  const Shard mine = shard_of(n, split.rank, split.world_size);
  const int64_t chunk = std::max<int64_t>(1, (int64_t{2} << 20) / std::max<int64_t>(n, 1));
  double sum_log_qz = 0.0;
  for (int64_t start = mine.begin; start < mine.begin + mine.count; start += chunk) {
    const int64_t rows = std::min(chunk, mine.begin + mine.count - start);
    torch::Tensor log_q = torch::mm(a.narrow(0, start, rows), b.t());  // [rows, n]
    // log sum_j exp(l_j) = m + log sum_j exp(l_j - m), m = max_j l_j. The
    // differences come from double products (above); their exponentials
    // lie in (0, 1] and a float sum of them is exact to ~1e-7 relative, so
    // exp and the sum run in float, at twice the speed.
    const torch::Tensor row_max = std::get<0>(log_q.max(1, /*keepdim=*/true));
    const torch::Tensor shifted = log_q.sub_(row_max).to(torch::kFloat32).exp_();
    sum_log_qz +=
        (shifted.sum(1).to(torch::kFloat64).log_() + row_max.squeeze(1)).sum().item<double>();
  }
  if (split.sum) sum_log_qz = split.sum(sum_log_qz);
  const double mean_log_qz = sum_log_qz / static_cast<double>(n) - std::log(static_cast<double>(n));
  return neg_entropy - mean_log_qz;
}

}  // namespace vae
