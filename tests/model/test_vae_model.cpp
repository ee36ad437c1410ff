#include "vae/model/vae_model.h"

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
  VAE model(NetworkOptions()
                .arch(parse_architecture("conv"))
                .channels({4, 8})
                .hidden({16})
                .latent_dim(2));
  const torch::Tensor images = model->generate(torch::randn({6, 2}));
  EXPECT_EQ(images.sizes(), (torch::IntArrayRef{6, 1, 28, 28}));
  EXPECT_GE(images.min().item<float>(), 0.0f);
  EXPECT_LE(images.max().item<float>(), 1.0f);
}

TEST(VaeModel, ShardTermsAddUpToTheBatchTermsAndGradients) {
  // Two data-parallel shards of a batch of 7 (rows 0-3 and 4-6) with free
  // bits: their losses and gradients add up to the whole batch's.
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(4).hidden({16}));
  const torch::Tensor x = torch::rand({7, 1, 28, 28});
  const torch::Tensor eps = torch::randn({7, 4});
  const double free_bits = 0.05, beta = 0.7;
  const auto gradients = [&](const torch::Tensor& loss) {
    model->zero_grad();
    loss.backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : model->parameters())
      g.push_back(p.grad().clone());
    return g;
  };
  const ElboSums all = model->elbo_sums(x, eps);
  const torch::Tensor batch_kl = all.kl_per_dim.detach() / 7.0;
  // Free bits must matter: some dimensions above the floor, some below.
  ASSERT_GT(batch_kl.ge(free_bits).sum().item<int64_t>(), 0);
  ASSERT_GT(batch_kl.lt(free_bits).sum().item<int64_t>(), 0) << batch_kl;
  const ElboTerms whole = elbo_terms(all, 7, 7, beta, free_bits, batch_kl);
  EXPECT_NEAR(
      whole.loss.item<double>(),
      whole.recon.item<double>() + beta * batch_kl.clamp_min(free_bits).sum().item<double>(), 1e-4);
  const std::vector<torch::Tensor> g_whole = gradients(whole.loss);

  double loss_parts = 0.0, recon_parts = 0.0;
  std::vector<torch::Tensor> g_parts;
  for (const auto& [begin, count] : {std::pair<int64_t, int64_t>{0, 4}, {4, 3}}) {
    const ElboSums sums = model->elbo_sums(x.narrow(0, begin, count), eps.narrow(0, begin, count));
    const ElboTerms part = elbo_terms(sums, count, 7, beta, free_bits, batch_kl);
    loss_parts += part.loss.item<double>();
    recon_parts += part.recon.item<double>();
    const std::vector<torch::Tensor> g = gradients(part.loss);
    if (g_parts.empty()) {
      g_parts = g;
    } else {
      for (size_t i = 0; i < g.size(); ++i)
        g_parts[i] += g[i];
    }
  }
  EXPECT_NEAR(loss_parts, whole.loss.item<double>(), 1e-3);
  EXPECT_NEAR(recon_parts, whole.recon.item<double>(), 1e-3);
  for (size_t i = 0; i < g_whole.size(); ++i) {
    EXPECT_TRUE(torch::allclose(g_parts[i], g_whole[i], 1e-4, 1e-5)) << "parameter " << i;
  }
}

TEST(VaeModel, ElboDrawsItsNoiseLikeAGlobalBatchDraw) {
  // elbo() and a rank's slice of one randn({batch, latent}) use the same
  // numbers: what makes data-parallel runs match single-process ones.
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(3).hidden({8}));
  const torch::Tensor x = torch::rand({5, 1, 28, 28});
  torch::manual_seed(4);
  const ElboTerms direct = model->elbo(x);
  torch::manual_seed(4);
  const torch::Tensor eps = torch::randn({5, 3});
  const ElboSums sums = model->elbo_sums(x, eps);
  EXPECT_EQ(direct.recon.item<double>(), (sums.recon / 5.0).item<double>());
}
}  // namespace
}  // namespace vae
