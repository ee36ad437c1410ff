#include "vae/evaluation/likelihood_eval.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(LikelihoodEval, BoundsAreOrderedAndConsistent) {
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(3).hidden({16}));
  const torch::Tensor images = (torch::rand({40, 28, 28}) < 0.2).to(torch::kUInt8) * 255;
  LikelihoodEvalOptions options;
  options.k = 64;
  options.k_curve = {1, 4, 16, 64};
  options.batch_size = 16;  // batches of 16, 16 and 8
  options.max_rows = 100;   // several chunks per batch
  const LikelihoodEvalResult r = evaluate_log_likelihood(model, images, torch::kCPU, options);
  EXPECT_EQ(r.images, 40);
  EXPECT_EQ(r.pixels, 784);
  EXPECT_EQ(r.per_image_log_px.size(0), 40);
  // L_1 averaged over all samples is the ELBO estimate itself; L_64 is the result.
  EXPECT_NEAR(r.k_curve[0].second, r.elbo, 1e-9);
  EXPECT_NEAR(r.k_curve[3].second, r.log_px, 1e-9);
  for (size_t c = 1; c < r.k_curve.size(); ++c)
    EXPECT_GT(r.k_curve[c].second, r.k_curve[c - 1].second);
  // Jensen: log mean exp >= mean log, for every image.
  EXPECT_TRUE((r.per_image_log_px >= r.per_image_elbo).all().item<bool>());
  EXPECT_NEAR(r.gap, r.log_px - r.elbo, 1e-12);
  EXPECT_NEAR(r.bits_per_dim(r.log_px), -r.log_px / (784 * std::log(2.0)), 1e-12);
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["k"], 64);
  EXPECT_EQ(j["k_curve"].size(), 4u);
  EXPECT_DOUBLE_EQ(j["neg_log_px"].get<double>(), -r.log_px);
}

TEST(LikelihoodEval, RejectsACurveBeyondK) {
  VAE model(NetworkOptions().latent_dim(2).hidden({8}));
  LikelihoodEvalOptions options;
  options.k = 10;
  options.k_curve = {1, 20};
  EXPECT_NE(testing::error_of([&] {
              evaluate_log_likelihood(model, torch::zeros({2, 28, 28}, torch::kUInt8), torch::kCPU,
                                      options);
            }).find("--k-curve values must lie in 1..10, not 20"),
            std::string::npos);
}

}  // namespace
}  // namespace vae
