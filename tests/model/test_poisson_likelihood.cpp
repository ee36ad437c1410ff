#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

const LikelihoodFamily& poisson() {
  return *parse_likelihood("poisson");
}

// Pixel value k / 255 is the count k: log p = k log(rate) - rate - log k!,
// by hand; the probabilities of k = 0..255 sum to 1 for a moderate rate;
// the mean image is the rate / 255 and draws have the rate as their mean.
TEST(PoissonLikelihood, IsThePoissonMassOfTheCounts) {
  const double rate = 3.7;
  const torch::Tensor counts = torch::arange(256, torch::kFloat64);
  const torch::Tensor logp = poisson().log_prob(
      (counts / 255.0).view({256, 1}), torch::full({256, 1}, std::log(rate), torch::kFloat64), {});
  for (int k : {0, 1, 4, 16}) {
    double log_factorial = 0.0;
    for (int i = 2; i <= k; ++i)
      log_factorial += std::log(static_cast<double>(i));
    EXPECT_NEAR(logp[k].item<double>(), k * std::log(rate) - rate - log_factorial, 1e-10);
  }
  EXPECT_NEAR(logp.exp().sum().item<double>(), 1.0, 1e-12);
  EXPECT_TRUE(poisson().counts());
  const torch::Tensor output = torch::full({1}, std::log(rate), torch::kFloat64);
  EXPECT_NEAR(poisson().mean(output).item<double>(), rate / 255.0, 1e-12);
  auto generator = at::detail::createCPUGenerator(2);
  const torch::Tensor draws =
      poisson().sample(torch::full({20000}, std::log(rate), torch::kFloat64), {}, generator) *
      255.0;
  EXPECT_NEAR(draws.mean().item<double>(), rate, 4.0 * std::sqrt(rate / 20000));
  // Per image: the pixels' sum.
  const torch::Tensor two = torch::tensor({{1.0, 2.0}}, torch::kFloat64) / 255.0;
  const torch::Tensor out2 = torch::tensor({{0.1, -0.3}}, torch::kFloat64);
  EXPECT_NEAR(poisson().log_prob(two, out2, {}).item<double>(),
              poisson().log_prob_sum(two, out2, {}).item<double>(), 1e-12);
}

}  // namespace
}  // namespace vae
