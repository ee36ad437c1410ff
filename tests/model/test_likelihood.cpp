#include "vae/model/likelihood.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(Likelihood, BernoulliIsTheNegativeCrossEntropyPerImage) {
  const torch::Tensor x = torch::tensor({{1.0, 0.0, 0.5}, {0.0, 1.0, 1.0}}, torch::kFloat64);
  const torch::Tensor logits = torch::tensor({{2.0, -1.0, 0.3}, {0.0, 4.0, -2.0}}, torch::kFloat64);
  const torch::Tensor got = parse_likelihood("bernoulli")->log_prob(x, logits, {});
  ASSERT_EQ(got.sizes(), (torch::IntArrayRef{2}));
  for (int i = 0; i < 2; ++i) {
    double expected = 0.0;
    for (int j = 0; j < 3; ++j) {
      const double p = 1.0 / (1.0 + std::exp(-logits[i][j].item<double>()));
      const double t = x[i][j].item<double>();
      expected += t * std::log(p) + (1.0 - t) * std::log(1.0 - p);
    }
    EXPECT_NEAR(got[i].item<double>(), expected, 1e-12);
  }
  EXPECT_NEAR(parse_likelihood("bernoulli")->log_prob_sum(x, logits, {}).item<double>(),
              got.sum().item<double>(), 1e-12);
}

TEST(Likelihood, GaussianIsTheNormalDensityOfTheSigmoidMean) {
  const torch::Tensor x = torch::tensor({{0.2, 0.9}}, torch::kFloat64);
  const torch::Tensor output = torch::tensor({{0.0, 1.0}}, torch::kFloat64);
  const double sigma = 0.3;
  const torch::Tensor log_sigma = torch::full({}, std::log(sigma), torch::kFloat64);
  double expected = 0.0;
  for (int j = 0; j < 2; ++j) {
    const double mean = 1.0 / (1.0 + std::exp(-output[0][j].item<double>()));
    const double diff = x[0][j].item<double>() - mean;
    expected += -0.5 * std::log(2.0 * M_PI * sigma * sigma) - diff * diff / (2.0 * sigma * sigma);
  }
  EXPECT_NEAR(parse_likelihood("gaussian")->log_prob(x, output, log_sigma)[0].item<double>(),
              expected, 1e-12);
  EXPECT_NEAR(parse_likelihood("gaussian")->log_prob_sum(x, output, log_sigma).item<double>(),
              expected, 1e-12);
  EXPECT_TRUE(torch::allclose(parse_likelihood("gaussian")->mean(output), torch::sigmoid(output)));
}

TEST(Likelihood, ParsesNames) {
  EXPECT_EQ(parse_likelihood("gaussian"), parse_likelihood("gaussian"));
  EXPECT_EQ(to_string(parse_likelihood("bernoulli")), "bernoulli");
  EXPECT_THROW(parse_likelihood("gamma"), Error);
}

}  // namespace
}  // namespace vae
