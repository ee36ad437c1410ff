#include "vae/evaluation/anomaly_scores.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(AnomalyScores, ComplexityOfAConstantImageIsFarBelowNoise) {
  torch::manual_seed(3);
  const torch::Tensor flat = torch::full({1, 1, 28, 28}, 128, torch::kUInt8);
  const torch::Tensor noise = torch::randint(0, 256, {1, 1, 28, 28}, torch::kUInt8);
  const torch::Tensor colour_noise = torch::randint(0, 256, {1, 3, 28, 28}, torch::kUInt8);
  const std::vector<double> nats = png_complexity_nats(torch::cat({flat, noise}));
  // 784 random bytes cannot be coded in fewer than 784 bytes (+ the PNG's
  // own headers); a constant image takes a few dozen.
  EXPECT_GT(nats[1], 784 * 8 * std::log(2.0));
  EXPECT_LT(nats[0], 0.15 * nats[1]);
  EXPECT_GT(png_complexity_nats(colour_noise)[0], 3 * 784 * 8 * std::log(2.0));
  // Binary images are coded as 1-bit PNGs: random bits in about 98 bytes.
  const torch::Tensor bits = torch::randint(0, 2, {1, 28, 28}, torch::kUInt8) * 255;
  const double binary = png_complexity_nats(bits)[0];
  EXPECT_GT(binary, 98 * 8 * std::log(2.0));
  EXPECT_LT(binary, 0.3 * nats[1]);
  EXPECT_THROW(png_complexity_nats(torch::zeros({1, 28, 28})), Error);
}

TEST(AnomalyScores, TypicalityScoresBatchesAroundTheEntropy) {
  const std::vector<double> nll = {10, 14, 8, 8, 30};
  // Batches of 2: means 12 and 8 (the fifth score is left out).
  const std::vector<double> scores = typicality_scores(nll, 11.0, 2);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_DOUBLE_EQ(scores[0], 1.0);
  EXPECT_DOUBLE_EQ(scores[1], 3.0);
  EXPECT_EQ(typicality_scores(nll, 11.0, 1).size(), 5u);
  EXPECT_THROW(typicality_scores(nll, 11.0, 0), Error);
}

TEST(AnomalyScores, RegretIsTheElboGainedAndLeavesTheModelAsItWas) {
  torch::manual_seed(5);
  VAE model(NetworkOptions().latent_dim(3).hidden({16}));
  std::vector<torch::Tensor> before;
  for (const torch::Tensor& p : model->parameters())
    before.push_back(p.detach().clone());
  const torch::Tensor images = torch::randint(0, 256, {3, 1, 28, 28}, torch::kUInt8);
  RegretOptions options;
  options.steps = 30;
  options.lr = 1e-2;
  const std::vector<double> regret = likelihood_regret(model, images, torch::kCPU, options);
  ASSERT_EQ(regret.size(), 3u);
  // An untrained encoder re-fitted to one image gains ELBO on it.
  for (double r : regret)
    EXPECT_GT(r, 0.0);
  size_t i = 0;
  for (const torch::Tensor& p : model->parameters()) {
    EXPECT_TRUE(torch::equal(p, before[i++]));
    EXPECT_TRUE(p.requires_grad());
  }
  // The same seed, the same regret.
  EXPECT_EQ(likelihood_regret(model, images, torch::kCPU, options), regret);
}

}  // namespace
}  // namespace vae
