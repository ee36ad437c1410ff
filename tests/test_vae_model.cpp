#include "vae/vae_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vae {
namespace {

TEST(VaeModel, ElboTermsAddUp) {
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(4).hidden({16}));
  const torch::Tensor x = torch::rand({8, 1, 28, 28});
  const ElboTerms terms = model->elbo(x, /*beta=*/0.25);
  EXPECT_EQ(terms.kl_per_dim.sizes(), (torch::IntArrayRef{4}));
  EXPECT_NEAR(terms.kl.item<double>(), terms.kl_per_dim.sum().item<double>(), 1e-5);
  EXPECT_NEAR(terms.loss.item<double>(),
              terms.recon.item<double>() + 0.25 * terms.kl.item<double>(), 1e-3);
  EXPECT_GT(terms.recon.item<double>(), 0.0);
  EXPECT_GE(terms.kl.item<double>(), 0.0);
}

TEST(VaeModel, FreeBitsFloorEachDimension) {
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(4).hidden({16}));
  const torch::Tensor x = torch::rand({8, 1, 28, 28});
  torch::manual_seed(1);
  const ElboTerms plain = model->elbo(x, 1.0, 0.0);
  torch::manual_seed(1);      // the same reparameterization noise
  const double lambda = 5.0;  // above every dimension's KL at initialisation
  const ElboTerms floored = model->elbo(x, 1.0, lambda);
  ASSERT_TRUE(plain.kl_per_dim.lt(lambda).all().item<bool>());
  EXPECT_NEAR(floored.loss.item<double>(), plain.recon.item<double>() + 4 * lambda, 1e-3);
  // The reported KL stays the true one.
  EXPECT_NEAR(floored.kl.item<double>(), plain.kl.item<double>(), 1e-6);
  // Below the floor the KL gets no gradient: the encoder's log-variance head
  // only receives the reconstruction's gradient.
  floored.loss.backward();
  model->zero_grad();
  torch::manual_seed(1);
  model->elbo(x, 0.0, 0.0).loss.backward();  // beta 0: reconstruction only
  const auto named = model->named_parameters();
  const torch::Tensor recon_only = named["encoder.head.weight"].grad().clone();
  model->zero_grad();
  torch::manual_seed(1);
  model->elbo(x, 1.0, lambda).loss.backward();
  EXPECT_TRUE(torch::allclose(named["encoder.head.weight"].grad(), recon_only, 1e-5, 1e-6));
}

TEST(VaeModel, GenerateGivesPixelMeans) {
  VAE model(NetworkOptions().arch(Architecture::kConv).channels({4, 8}).hidden({16}).latent_dim(2));
  const torch::Tensor images = model->generate(torch::randn({6, 2}));
  EXPECT_EQ(images.sizes(), (torch::IntArrayRef{6, 1, 28, 28}));
  EXPECT_GE(images.min().item<float>(), 0.0f);
  EXPECT_LE(images.max().item<float>(), 1.0f);
}

}  // namespace
}  // namespace vae
