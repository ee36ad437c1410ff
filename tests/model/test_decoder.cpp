#include "vae/model/decoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace vae {
namespace {

TEST(Decoder, MlpAndConvProduceImages) {
  torch::manual_seed(0);
  for (const ArchitectureRef arch : {parse_architecture("mlp"), parse_architecture("conv")}) {
    Decoder decoder(DecoderOptions().arch(arch).channels({8, 16}).hidden({32}).latent_dim(5));
    const torch::Tensor out = decoder->forward(torch::randn({3, 5}));
    EXPECT_EQ(out.sizes(), (torch::IntArrayRef{3, 1, 28, 28})) << to_string(arch);
    const torch::Tensor x = torch::rand({3, 1, 28, 28});
    const torch::Tensor per_image = decoder->log_likelihood(x, out);
    EXPECT_EQ(per_image.sizes(), (torch::IntArrayRef{3}));
    EXPECT_TRUE(per_image.lt(0).all().item<bool>());
    EXPECT_NEAR(decoder->log_likelihood_sum(x, out).item<double>(), per_image.sum().item<double>(),
                1e-2);
  }
}

TEST(Decoder, GaussianSigmaIsFixedOrLearned) {
  Decoder fixed(DecoderOptions().likelihood(parse_likelihood("gaussian")).sigma(0.2).latent_dim(2));
  int64_t fixed_params = 0;
  for (const auto& p : fixed->parameters())
    fixed_params += p.numel();
  Decoder learned(DecoderOptions()
                      .likelihood(parse_likelihood("gaussian"))
                      .sigma(0.2)
                      .learn_sigma(true)
                      .latent_dim(2));
  int64_t learned_params = 0;
  for (const auto& p : learned->parameters())
    learned_params += p.numel();
  EXPECT_EQ(learned_params - fixed_params, 784);  // one log sigma per pixel
  EXPECT_NEAR(fixed->named_buffers()["log_sigma"].item<double>(), std::log(0.2), 1e-6);

  // With x equal to the mean, log p(x|z) = -784 (log sigma + 0.5 log 2 pi).
  const torch::Tensor out = fixed->forward(torch::zeros({1, 2}));
  const torch::Tensor x = torch::sigmoid(out);
  EXPECT_NEAR(fixed->log_likelihood(x, out)[0].item<double>(),
              -784.0 * (std::log(0.2) + 0.5 * std::log(2.0 * M_PI)), 1e-2);
}

}  // namespace
}  // namespace vae
