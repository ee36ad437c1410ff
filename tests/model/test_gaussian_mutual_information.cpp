#include "vae/model/gaussian_mutual_information.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/gaussian.h"

namespace vae {
namespace {

// Brute force: the same estimator with scalar loops over every pair (i, j):
//   E_x[-H(q(z|x))] - (1/N) sum_i log (1/N) sum_j q(z_i | x_j).
double brute_force_mi(const torch::Tensor& mu_t, const torch::Tensor& logvar_t,
                      const torch::Tensor& z_t) {
  const auto mu = mu_t.accessor<double, 2>();
  const auto logvar = logvar_t.accessor<double, 2>();
  const auto z = z_t.accessor<double, 2>();
  const int64_t n = mu_t.size(0), d = mu_t.size(1);
  const double log2pi = std::log(2.0 * M_PI);
  double neg_entropy = 0.0, log_qz = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < d; ++k)
      neg_entropy += -0.5 * (log2pi + 1.0 + logvar[i][k]);
    std::vector<double> log_q(n, 0.0);
    double max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t k = 0; k < d; ++k) {
        const double diff = z[i][k] - mu[j][k];
        log_q[j] += -0.5 * (log2pi + logvar[j][k] + diff * diff / std::exp(logvar[j][k]));
      }
      max = std::max(max, log_q[j]);
    }
    double sum = 0.0;
    for (double v : log_q)
      sum += std::exp(v - max);
    log_qz += max + std::log(sum) - std::log(static_cast<double>(n));
  }
  return (neg_entropy - log_qz) / static_cast<double>(n);
}

TEST(GaussianMutualInformation, MatchesBruteForce) {
  torch::manual_seed(3);
  const torch::Tensor mu = torch::randn({50, 3}, torch::kFloat64) * 2.0;
  const torch::Tensor logvar = torch::randn({50, 3}, torch::kFloat64) - 1.0;
  // The estimator draws one z per point from the default generator: replay it.
  torch::manual_seed(9);
  const double fast = mutual_information(mu, logvar);
  torch::manual_seed(9);
  const torch::Tensor z = reparameterize(mu, logvar);
  // The products are double; the exponentials inside the log-sum-exp are
  // float (relative error ~6e-8 each, see diagnostics.cpp): 1e-7 nats, four
  // orders below the estimator's own Monte-Carlo error.
  EXPECT_NEAR(fast, brute_force_mi(mu, logvar, z), 1e-7);
}

// The estimator is a Monte-Carlo average over one z per point; its noise comes
// from log q(z_i | .) at a Gaussian draw, whose standard deviation is
// sqrt(D / 2) nats, so its standard error is sqrt(D / (2 N)).
double mi_standard_error(int64_t n, int64_t d) {
  return std::sqrt(static_cast<double>(d) / (2.0 * static_cast<double>(n)));
}

TEST(GaussianMutualInformation, IsZeroWhenPosteriorsIgnoreX) {
  torch::manual_seed(4);
  // Collapsed posterior: q(z|x) = N(0, I) for every x.
  const double mi = mutual_information(torch::zeros({4000, 8}), torch::zeros({4000, 8}));
  EXPECT_NEAR(mi, 0.0, 3.0 * mi_standard_error(4000, 8));
}

TEST(GaussianMutualInformation, ReachesLogNForSeparatedPosteriors) {
  torch::manual_seed(5);
  const int64_t n = 1000;
  // Far-apart, tight posteriors: each z identifies its x, I = log N.
  const torch::Tensor mu = torch::randn({n, 4}, torch::kFloat64) * 10.0;
  const torch::Tensor logvar = torch::full({n, 4}, -12.0, torch::kFloat64);
  EXPECT_NEAR(mutual_information(mu, logvar), std::log(static_cast<double>(n)),
              3.0 * mi_standard_error(n, 4));
  // Partly overlapping posteriors land in between.
  const double partial = mutual_information(mu * 0.05, torch::zeros({n, 4}, torch::kFloat64));
  EXPECT_GT(partial, 0.1);
  EXPECT_LT(partial, std::log(static_cast<double>(n)) - 0.5);
}

TEST(GaussianMutualInformation, SplitByRowsEqualsTheWhole) {
  torch::manual_seed(5);
  const torch::Tensor mu = torch::randn({101, 3}, torch::kFloat64);
  const torch::Tensor logvar = torch::randn({101, 3}, torch::kFloat64) * 0.3 - 1.0;
  torch::manual_seed(9);
  const double whole = mutual_information(mu, logvar);
  // Three "processes" with the same generator state: collect their partial
  // sums, then let each finish with the total.
  double total = 0.0;
  for (int64_t rank = 0; rank < 3; ++rank) {
    torch::manual_seed(9);
    mutual_information(mu, logvar, {rank, 3, [&](double partial) {
                                      total += partial;
                                      return partial;
                                    }});
  }
  for (int64_t rank = 0; rank < 3; ++rank) {
    torch::manual_seed(9);
    EXPECT_NEAR(mutual_information(mu, logvar, {rank, 3, [&](double) { return total; }}), whole,
                1e-9);
  }
}
}  // namespace
}  // namespace vae
