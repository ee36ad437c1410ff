#include "vae/model/gaussian.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace vae {
namespace {

// KL(q || N(0,1)) = E_q[log q(z) - log p(z)]; a Monte-Carlo estimate with
// n samples must agree with the closed form within 3 standard errors.
TEST(Gaussian, ClosedFormKlMatchesMonteCarlo) {
  torch::manual_seed(11);
  const std::vector<std::pair<double, double>> cases = {{0.0, 0.0},  {1.5, -1.0}, {-3.0, 2.0},
                                                        {6.0, -6.0}, {0.2, 3.0},  {-10.0, 0.5}};
  const int64_t n = 200000;
  for (const auto& [m, lv] : cases) {
    const torch::Tensor mu = torch::full({n, 1}, m, torch::kFloat64);
    const torch::Tensor logvar = torch::full({n, 1}, lv, torch::kFloat64);
    const torch::Tensor z = reparameterize(mu, logvar);
    const torch::Tensor zeros = torch::zeros_like(z);
    const torch::Tensor samples = log_normal_diag(z, mu, logvar) - log_normal_diag(z, zeros, zeros);
    const double estimate = samples.mean().item<double>();
    const double stderr_ = samples.std().item<double>() / std::sqrt(static_cast<double>(n));
    const double exact = kl_standard_normal(mu[0], logvar[0]).item<double>();
    EXPECT_NEAR(estimate, exact, 3.0 * stderr_ + 1e-9) << "mu " << m << " logvar " << lv;
    // And against the textbook formula itself.
    EXPECT_NEAR(exact, 0.5 * (m * m + std::exp(lv) - 1.0 - lv), 1e-9);
  }
}

TEST(Gaussian, KlIsPerElementAndZeroAtThePrior) {
  const torch::Tensor mu = torch::tensor({{0.0, 1.0}, {2.0, 0.0}});
  const torch::Tensor logvar = torch::zeros({2, 2});
  const torch::Tensor kl = kl_standard_normal(mu, logvar);
  EXPECT_EQ(kl.sizes(), mu.sizes());
  EXPECT_FLOAT_EQ(kl[0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(kl[0][1].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(kl[1][0].item<float>(), 2.0f);
}

TEST(Gaussian, ReparameterizedSamplesHaveTheRightMomentsAndGradients) {
  torch::manual_seed(12);
  const int64_t n = 100000;
  const torch::Tensor mu = torch::tensor({-2.0, 0.5, 3.0}, torch::kFloat64).expand({n, 3});
  const torch::Tensor logvar = torch::tensor({0.0, -2.0, 1.0}, torch::kFloat64).expand({n, 3});
  const torch::Tensor z = reparameterize(mu, logvar);
  const torch::Tensor mean = z.mean(0), var = z.var(0);
  const std::vector<double> want_mean = {-2.0, 0.5, 3.0};
  for (int d = 0; d < 3; ++d) {
    const double sigma2 = std::exp(logvar[0][d].item<double>());
    // Standard errors: sqrt(sigma2 / n) for the mean, sigma2 sqrt(2 / n) for the variance.
    EXPECT_NEAR(mean[d].item<double>(), want_mean[d], 4.0 * std::sqrt(sigma2 / n));
    EXPECT_NEAR(var[d].item<double>(), sigma2, 4.0 * sigma2 * std::sqrt(2.0 / n));
  }
  // Standardised samples are uncorrelated across dimensions.
  const torch::Tensor eps = (z - mu) / torch::exp(0.5 * logvar);
  EXPECT_NEAR((eps.select(1, 0) * eps.select(1, 1)).mean().item<double>(), 0.0, 4.0 / std::sqrt(n));

  // dz/dmu = 1 and dz/dlogvar = 0.5 * sigma * eps.
  const torch::Tensor m = torch::zeros({4}, torch::requires_grad());
  const torch::Tensor lv = torch::full({4}, 0.4, torch::requires_grad());
  const torch::Tensor sample = reparameterize(m, lv);
  sample.sum().backward();
  EXPECT_TRUE(torch::allclose(m.grad(), torch::ones({4})));
  EXPECT_TRUE(torch::allclose(lv.grad(), 0.5 * sample.detach()));
}

TEST(Gaussian, LogNormalDiagMatchesTheDensity) {
  const torch::Tensor z = torch::tensor({{0.3, -1.2}}, torch::kFloat64);
  const torch::Tensor mu = torch::tensor({{0.1, 0.4}}, torch::kFloat64);
  const torch::Tensor logvar = torch::tensor({{-0.5, 0.7}}, torch::kFloat64);
  double expected = 0.0;
  for (int d = 0; d < 2; ++d) {
    const double s2 = std::exp(logvar[0][d].item<double>());
    const double diff = z[0][d].item<double>() - mu[0][d].item<double>();
    expected += -0.5 * std::log(2.0 * M_PI * s2) - diff * diff / (2.0 * s2);
  }
  EXPECT_NEAR(log_normal_diag(z, mu, logvar)[0].item<double>(), expected, 1e-12);
}

TEST(Gaussian, GivenNoiseIsTheReparameterizationsNoise) {
  const torch::Tensor mu = torch::tensor({1.0, -2.0}), logvar = torch::tensor({0.0, 2.0});
  const torch::Tensor eps = torch::tensor({0.5, -1.0});
  EXPECT_TRUE(
      torch::allclose(reparameterize(mu, logvar, eps), torch::tensor({1.5, -2.0 - std::exp(1.0)})));
  torch::manual_seed(8);
  const torch::Tensor drawn = reparameterize(mu, logvar);
  torch::manual_seed(8);
  EXPECT_TRUE(drawn.equal(reparameterize(mu, logvar, torch::randn({2}))));
}
}  // namespace
}  // namespace vae
