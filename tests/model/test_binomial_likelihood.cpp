#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

const LikelihoodFamily& binomial() {
  return *parse_likelihood("binomial");
}

double log_choose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

// Counts k of N trials: log p = log C(N, k) + k log p + (N - k) log(1 - p)
// by hand; the N + 1 probabilities sum to 1; the mean image is N p / 255;
// no probability above N (max_value).
TEST(BinomialLikelihood, IsTheBinomialMassOfTheCounts) {
  const int n = 16;
  const double logit = -0.7, p = 1.0 / (1.0 + std::exp(-logit));
  const LikelihoodParams params({}, n);
  const torch::Tensor counts = torch::arange(n + 1, torch::kFloat64);
  const torch::Tensor logp = binomial().log_prob(
      (counts / 255.0).view({n + 1, 1}), torch::full({n + 1, 1}, logit, torch::kFloat64), params);
  for (int k : {0, 3, 8, 16}) {
    EXPECT_NEAR(logp[k].item<double>(),
                log_choose(n, k) + k * std::log(p) + (n - k) * std::log(1 - p), 1e-10);
  }
  EXPECT_NEAR(logp.exp().sum().item<double>(), 1.0, 1e-12);
  EXPECT_EQ(binomial().max_value(params), 16);
  EXPECT_NEAR(binomial().mean(torch::full({1}, logit, torch::kFloat64)).item<double>() *
                  binomial().mean_scale(params),
              n * p / 255.0, 1e-12);
  auto generator = at::detail::createCPUGenerator(4);
  const torch::Tensor draws =
      binomial().sample(torch::full({20000}, logit, torch::kFloat64), params, generator) * 255.0;
  EXPECT_LE(draws.max().item<double>(), n);
  EXPECT_NEAR(draws.mean().item<double>(), n * p, 4.0 * std::sqrt(n * p * (1 - p) / 20000));
}

}  // namespace
}  // namespace vae
