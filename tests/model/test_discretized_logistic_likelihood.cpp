#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

const LikelihoodFamily& dl() {
  return *parse_likelihood("discretized-logistic");
}

// The 256 bins' probabilities sum to 1 for any mean and scale, narrow or
// wide (in log space, no bin's mass is lost to cancellation); and an inner
// bin's probability is the logistic CDF's difference over it.
TEST(DiscretizedLogistic, TheBinsProbabilitiesSumToOne) {
  const torch::Tensor x = torch::arange(256, torch::kFloat64).div(255.0).view({256, 1});
  for (double mu_logit : {-6.0, -1.0, 0.0, 0.4, 3.0}) {
    for (double scale : {1e-4, 0.003, 0.05, 0.5, 3.0}) {
      const torch::Tensor output = torch::full({256, 1}, mu_logit, torch::kFloat64);
      const torch::Tensor log_s = torch::full({}, std::log(scale), torch::kFloat64);
      const torch::Tensor logp = dl().log_prob(x, output, log_s);
      EXPECT_NEAR(logp.exp().sum().item<double>(), 1.0, 1e-12)
          << "mean logit " << mu_logit << ", scale " << scale;
      EXPECT_TRUE(torch::isfinite(logp).all().item<bool>());
    }
  }
  // Bin 100 of a logistic with mean sigmoid(0.4), scale 0.05: the CDF's
  // difference between its edges, by hand.
  const double mu = 1.0 / (1.0 + std::exp(-0.4)), s = 0.05;
  const auto cdf = [&](double v) { return 1.0 / (1.0 + std::exp(-(v - mu) / s)); };
  const double expected = std::log(cdf(100.5 / 255.0) - cdf(99.5 / 255.0));
  const torch::Tensor one = dl().log_prob(torch::full({1, 1}, 100.0 / 255.0, torch::kFloat64),
                                          torch::full({1, 1}, 0.4, torch::kFloat64),
                                          torch::full({}, std::log(s), torch::kFloat64));
  EXPECT_NEAR(one.item<double>(), expected, 1e-10);
  // Both edge bins reach to infinity: P(0) = CDF(0.5 / 255).
  const torch::Tensor zero = dl().log_prob(torch::zeros({1, 1}, torch::kFloat64),
                                           torch::full({1, 1}, 0.4, torch::kFloat64),
                                           torch::full({}, std::log(s), torch::kFloat64));
  EXPECT_NEAR(zero.item<double>(), std::log(cdf(0.5 / 255.0)), 1e-10);
}

// Draws are 8-bit values whose frequencies follow the bins' probabilities.
TEST(DiscretizedLogistic, SamplesAreBinnedWithTheRightFrequencies) {
  auto generator = at::detail::createCPUGenerator(5);
  const int64_t n = 20000;
  const torch::Tensor output = torch::full({n, 1}, 0.0, torch::kFloat64);  // mean 0.5
  const torch::Tensor log_s = torch::full({}, std::log(0.01), torch::kFloat64);
  const torch::Tensor draws = dl().sample(output, log_s, generator);
  const torch::Tensor k = (draws * 255.0).round();
  EXPECT_TRUE(torch::allclose(draws * 255.0, k, 0.0, 1e-6));
  // The share of draws in bin 128 (the one above the mean 127.5 / 255)
  // against its probability; binomial standard error.
  const double p = dl().log_prob(torch::full({1, 1}, 128.0 / 255.0, torch::kFloat64),
                                 torch::zeros({1, 1}, torch::kFloat64), log_s)
                       .exp()
                       .item<double>();
  const double share = (k == 128).sum().item<double>() / n;
  EXPECT_NEAR(share, p, 4.0 * std::sqrt(p * (1 - p) / n));
}

}  // namespace
}  // namespace vae
