#include "vae/evaluation/evaluation.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_support.h"

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
  const testing::MuLogvar q =
      testing::encode_gaussian(model, images.to(torch::kFloat32).div(255.0).unsqueeze(1));
  const torch::Tensor kl = (0.5 * (q.mu.pow(2) + q.logvar.exp() - 1.0 - q.logvar)).mean(0);
  for (int d = 0; d < 3; ++d)
    EXPECT_NEAR(result.kl_per_dim[d], kl[d].item<double>(), 1e-4);
  EXPECT_EQ(result.active_units, (q.mu.var(0, false) > 0.01).sum().item<int64_t>());
  EXPECT_TRUE(std::isfinite(result.mutual_info));

  EvalOptions no_mi;
  no_mi.mutual_info = false;
  EXPECT_TRUE(std::isnan(evaluate(model, batches, no_mi).mutual_info));
}

TEST(Evaluation, TheMlpForwardPassGivesTheModulesSums) {
  // The fully connected model is evaluated on MlpGradient's forward pass:
  // the same -ELBO, KL and posterior as LibTorch's modules on the same noise,
  // for every product library this build has.
  torch::manual_seed(4);
  VAE model(NetworkOptions().latent_dim(4).hidden({32}));
  const torch::Tensor images = torch::randint(0, 256, {23, 28, 28}).to(torch::kUInt8);
  Batcher batches(images, 10, Binarize::kNone, torch::kCPU);
  // The reference: the batches' noise drawn as evaluate() draws it.
  torch::manual_seed(9);
  double recon = 0.0;
  torch::Tensor mu_all;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> mus;
    for (int64_t i = 0; i < batches.num_batches(); ++i) {
      const torch::Tensor eps = torch::randn({batches.batch_rows(i), 4});
      const torch::Tensor x = batches.batch(i);
      const testing::MuLogvar q = testing::encode_gaussian(model, x);
      const torch::Tensor out = model->decode(q.mu + (0.5 * q.logvar).exp() * eps);
      recon -= model->decoder->log_likelihood_sum(x, out).item<double>();
      mus.push_back(q.mu);
    }
    mu_all = torch::cat(mus);
  }
  std::vector<GemmBackend> backends = {GemmBackend::kLibTorch};
  if (onednn_available()) backends.push_back(GemmBackend::kOneDnn);
  // One thread, and three: the forward pass's blocks then run on worker
  // threads, which must write the inference-mode buffers too.
  for (int threads : {1, 3}) {
    const testing::ScopedThreads scoped(threads);
    for (GemmBackend gemm : backends) {
      SCOPED_TRACE(to_string(gemm) + ", " + std::to_string(threads) + " threads");
      torch::manual_seed(9);
      EvalOptions options;
      options.gemm = gemm;
      const EvalResult result = evaluate(model, batches, options);
      EXPECT_NEAR(result.recon, recon / 23.0, 1e-5 * std::abs(recon / 23.0));
      EXPECT_EQ(result.active_units, (mu_all.var(0, false) > 0.01).sum().item<int64_t>());
      const torch::Tensor variance = mu_all.var(0, false);
      for (int d = 0; d < 4; ++d)
        EXPECT_NEAR(result.mean_variance[d], variance[d].item<double>(), 1e-5);
    }
  }
}

}  // namespace
}  // namespace vae
