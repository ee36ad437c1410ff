#include "vae/model/encoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace vae {
namespace {

TEST(Encoder, MlpGivesMeanAndLogVarianceFromOneFusedHead) {
  torch::manual_seed(0);
  Encoder encoder(EncoderOptions().hidden({400}).latent_dim(20));
  const torch::Tensor x = torch::rand({5, 1, 28, 28});
  auto [mu, logvar] = testing::halves(encoder->forward(x));
  EXPECT_EQ(mu.sizes(), (torch::IntArrayRef{5, 20}));
  EXPECT_EQ(logvar.sizes(), (torch::IntArrayRef{5, 20}));
  // 784*400 + 400 + 400*40 + 40 parameters: the PyTorch example's count.
  int64_t count = 0;
  for (const auto& p : encoder->parameters())
    count += p.numel();
  EXPECT_EQ(count, 784 * 400 + 400 + 400 * 40 + 40);
  // The flat [N, 784] input gives the same result.
  auto [mu_flat, logvar_flat] = testing::halves(encoder->forward(x.view({5, 784})));
  EXPECT_TRUE(torch::allclose(mu, mu_flat));
  EXPECT_TRUE(torch::allclose(logvar, logvar_flat));
  // Each image's posterior depends on that image only.
  auto [mu_one, logvar_one] = testing::halves(encoder->forward(x.narrow(0, 2, 1)));
  EXPECT_TRUE(torch::allclose(mu_one[0], mu[2], 1e-5, 1e-6));
}

TEST(Encoder, ConvHandlesBatchesAndFlatInput) {
  torch::manual_seed(0);
  Encoder encoder(EncoderOptions()
                      .arch(parse_architecture("conv"))
                      .channels({8, 16})
                      .hidden({32})
                      .latent_dim(3));
  const torch::Tensor x = torch::rand({4, 1, 28, 28});
  auto [mu, logvar] = testing::halves(encoder->forward(x));
  EXPECT_EQ(mu.sizes(), (torch::IntArrayRef{4, 3}));
  auto [mu_flat, unused] = testing::halves(encoder->forward(x.view({4, 784})));
  EXPECT_TRUE(torch::allclose(mu, mu_flat));
  mu.sum().backward();
  for (const auto& p : encoder->parameters()) {
    if (p.grad().defined()) {
      EXPECT_TRUE(p.grad().isfinite().all().item<bool>());
    }
  }
}

}  // namespace
}  // namespace vae
