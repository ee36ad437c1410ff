#include "vae/training/norm_test.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// M micro-batch means of b / M rows each, the rows' gradients g + sd * e
// with e standard normal in each of P coordinates: ||Var||_1 = P sd^2.
std::vector<torch::Tensor> micro_means(const torch::Tensor& g, double sd, int64_t rows, int64_t m) {
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < m; ++i) {
    const torch::Tensor per_row = g + sd * torch::randn({rows / m, g.size(0)}, torch::kFloat64);
    out.push_back(per_row.mean(0));
  }
  return out;
}

TEST(NormTest, EstimatesTheNoiseAndTheSquaredMean) {
  torch::manual_seed(0);
  const int64_t p = 2000, b = 64, m = 4;
  const torch::Tensor g = torch::full({p}, 0.1, torch::kFloat64);  // ||g||^2 = 20
  const NormTest t = norm_test(micro_means(g, 0.5, b, m));
  // ||Var||_1 / b = P sd^2 / b = 2000 * 0.25 / 64 = 7.8125; its estimate from
  // M - 1 = 3 degrees of freedom per coordinate over 2000 coordinates has a
  // relative standard error of sqrt(2 / (3 * 2000)) = 1.8 %.
  EXPECT_NEAR(t.noise, 7.8125, 4 * 0.018 * 7.8125);
  // ||g_mean||^2 - noise: standard error sqrt(sum_p 4 g^2 s^2 + 2 s^4) with
  // s^2 = sd^2 / b, about 0.61, and the noise estimate's 0.14.
  EXPECT_NEAR(t.signal, 20.0, 4 * 0.63);
}

// The running-sum form (what a step keeps) is the definition: noise =
// sum_m ||G_m - mean||^2 / (M (M - 1)), signal = ||mean||^2 - noise.
TEST(NormTest, SumsFormIsTheDefinition) {
  torch::manual_seed(2);
  const std::vector<torch::Tensor> parts =
      micro_means(torch::rand({50}, torch::kFloat64), 0.3, 30, 3);
  const torch::Tensor mean = (parts[0] + parts[1] + parts[2]) / 3.0;
  double spread = 0.0;
  for (const torch::Tensor& g : parts)
    spread += (g - mean).pow(2).sum().item<double>();
  const double noise = spread / (3.0 * 2.0);
  const NormTest t = norm_test(parts);
  EXPECT_NEAR(t.noise, noise, 1e-12 * noise);
  EXPECT_NEAR(t.signal, mean.pow(2).sum().item<double>() - noise, 1e-10);
  EXPECT_THROW(norm_test(1.0, 1.0, 1), Error);
}

// Acceptance: noise-dominated gradients make the batch grow, signal-dominated
// ones keep it.
TEST(NormTest, GrowsForNoiseAndKeepsForSignal) {
  torch::manual_seed(1);
  const int64_t p = 500, b = 32, m = 4;
  const double theta = 0.9;
  const torch::Tensor small = torch::full({p}, 0.01, torch::kFloat64);
  const torch::Tensor large = torch::full({p}, 3.0, torch::kFloat64);
  std::vector<NormTest> noisy, clear;
  for (int step = 0; step < 10; ++step) {
    noisy.push_back(norm_test(micro_means(small, 1.0, b, m)));
    clear.push_back(norm_test(micro_means(large, 1.0, b, m)));
  }
  EXPECT_FALSE(noisy[0].holds(theta));
  EXPECT_TRUE(clear[0].holds(theta));
  EXPECT_EQ(next_batch_size(b, clear, theta, 1024), b);
  // Noise that drowns the mean (||g||^2 = 0.05 against 15.6; the ten
  // steps' mean signal has a standard error of 0.36) wants more rows than
  // the maximum allows: over 512 unless the signal came out above 1.2.
  EXPECT_EQ(next_batch_size(b, noisy, theta, 512), 512);
  // ||g||^2 = 9.65 against a noise of P / b = 15.6: the test wants
  // b * 15.6 / (0.81 * 9.65) = 64 rows (standard error of the ten steps'
  // means about 5 %).
  std::vector<NormTest> moderate;
  const torch::Tensor middle = torch::full({p}, std::sqrt(9.65 / p), torch::kFloat64);
  for (int step = 0; step < 10; ++step)
    moderate.push_back(norm_test(micro_means(middle, 1.0, b, m)));
  EXPECT_NEAR(static_cast<double>(next_batch_size(b, moderate, theta, 1024)), 64.0, 14.0);
  // Never past the maximum, never below the batch.
  EXPECT_EQ(next_batch_size(b, noisy, theta, 33), 33);
  EXPECT_EQ(next_batch_size(b, noisy, theta, 16), b);
  EXPECT_EQ(next_batch_size(b, {}, theta, 1024), b);
  EXPECT_NE(testing::error_of([&] { norm_test({small}); }), "");
}

}  // namespace
}  // namespace vae
