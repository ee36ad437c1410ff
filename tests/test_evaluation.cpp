#include "vae/evaluation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace vae {
namespace {

TEST(Evaluation, AveragesOverEveryImageAndLeavesTrainingMode) {
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(3).hidden({8}));
  const torch::Tensor images = torch::randint(0, 256, {25, 28, 28}).to(torch::kUInt8);
  Batcher batches(images, 10, Binarize::kNone, torch::kCPU);
  model->train();
  const EvalResult result = evaluate(model, batches);
  EXPECT_TRUE(model->is_training());
  ASSERT_EQ(result.kl_per_dim.size(), 3u);
  EXPECT_NEAR(result.neg_elbo, result.recon + result.kl, 1e-9);

  // The KL is deterministic: compare with one pass over all 25 images.
  torch::NoGradGuard no_grad;
  const Posterior q = model->encode(images.to(torch::kFloat32).div(255.0).unsqueeze(1));
  const torch::Tensor kl = (0.5 * (q.mu.pow(2) + q.logvar.exp() - 1.0 - q.logvar)).mean(0);
  for (int d = 0; d < 3; ++d)
    EXPECT_NEAR(result.kl_per_dim[d], kl[d].item<double>(), 1e-4);
  EXPECT_EQ(result.active_units, (q.mu.var(0, false) > 0.01).sum().item<int64_t>());
  EXPECT_TRUE(std::isfinite(result.mutual_info));

  EvalOptions no_mi;
  no_mi.mutual_info = false;
  EXPECT_TRUE(std::isnan(evaluate(model, batches, no_mi).mutual_info));
}

}  // namespace
}  // namespace vae
