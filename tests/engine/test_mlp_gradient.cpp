#include "vae/engine/mlp_gradient.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace vae {
namespace {

struct Case {
  const char* name;
  NetworkOptions options;
};

// Small images keep the comparison fast; two hidden layers exercise the
// loops over layers, which the default model (one layer) would not.
std::vector<Case> cases() {
  const NetworkOptions small = NetworkOptions().height(12).width(10).hidden({48, 24}).latent_dim(6);
  return {
      {"bernoulli", small},
      {"default-sizes", NetworkOptions()},
      {"gaussian-fixed", NetworkOptions(small).likelihood(parse_likelihood("gaussian")).sigma(0.3)},
      {"gaussian-learned",
       NetworkOptions(small).likelihood(parse_likelihood("gaussian")).sigma(0.2).learn_sigma(true)},
      {"no-hidden", NetworkOptions(small).hidden({})}};
}

void expect_matches_autograd(const Case& c, int64_t rows, uint64_t seed, GemmBackend gemm) {
  SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(rows) + " rows, " + to_string(gemm) +
               ", " + std::to_string(at::get_num_threads()) + " threads");
  torch::manual_seed(seed);
  VAE model(c.options);
  if (c.options.learn_sigma()) {
    // Away from its initial value, so that every pixel's gradient differs.
    torch::NoGradGuard no_grad;
    model->decoder->log_sigma().uniform_(-2.0, -0.5);
  }
  const int64_t d = c.options.latent_dim();
  const torch::Tensor x =
      torch::rand({rows, c.options.in_channels(), c.options.height(), c.options.width()});
  const torch::Tensor eps = torch::randn({rows, d});
  // Weights as the trainer passes them: 1/batch for the reconstruction,
  // beta/batch per KL dimension, 0 for dimensions held at a free-bits floor.
  const double r = 1.0 / static_cast<double>(rows + 3);
  torch::Tensor w = torch::full({d}, 0.7 * r);
  w[1] = 0.0;

  // Autograd's answer.
  model->zero_grad();
  const ElboSums expected = model->elbo_sums(x, eps);
  (r * expected.recon + (w * expected.kl_per_dim).sum()).backward();
  std::vector<torch::Tensor> autograd_grads;
  for (const auto& p : model->parameters())
    autograd_grads.push_back(p.grad().clone());

  // The hand-derived one; the grads are overwritten, not added to.
  for (const auto& p : model->parameters())
    p.mutable_grad().fill_(123.0);
  MlpGradient gradient(model, gemm);
  const ElboSums got = gradient.forward(x, eps);
  gradient.backward(r, w);

  EXPECT_NEAR(got.recon.item<double>(), expected.recon.item<double>(),
              1e-5 * std::abs(expected.recon.item<double>()));
  EXPECT_LT(testing::relative_diff(got.kl_per_dim, expected.kl_per_dim.detach()), 1e-5);
  const testing::MuLogvar q = testing::encode_gaussian(model, x);
  const testing::MuLogvar got_q = testing::halves(got.stats);
  EXPECT_LT(testing::relative_diff(got_q.mu, q.mu.detach()), 1e-5);
  EXPECT_LT(testing::relative_diff(got_q.logvar, q.logvar.detach()), 1e-5);
  const auto named = model->named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    const torch::Tensor& grad = named[i].value().grad();
    ASSERT_TRUE(grad.defined()) << named[i].key();
    EXPECT_GT(autograd_grads[i].abs().max().item<double>(), 0.0) << named[i].key();
    EXPECT_LT(testing::relative_diff(grad, autograd_grads[i]), 1e-4) << named[i].key();
  }
}

TEST(MlpGradient, EqualsAutogradForEveryParameter) {
  for (GemmBackend gemm : testing::gemm_backends()) {
    for (const Case& c : cases())
      expect_matches_autograd(c, 17, 1, gemm);
  }
}

TEST(MlpGradient, EqualsAutogradWithBlocksOnSeveralThreads) {
  // Three threads: every product and loss block is split unevenly (17 rows,
  // 400 and 40 columns), and the blocks run concurrently.
  const testing::ScopedThreads three(3);
  for (GemmBackend gemm : testing::gemm_backends()) {
    for (const Case& c : cases())
      expect_matches_autograd(c, 17, 5, gemm);
  }
}

TEST(MlpGradient, BuffersServeBatchesOfChangingSize) {
  // One object, batches of 9, 33 and 5 rows: the buffers grow and are
  // reused for fewer rows than they hold.
  const NetworkOptions options = NetworkOptions().height(8).width(8).hidden({20}).latent_dim(3);
  torch::manual_seed(2);
  VAE model(options);
  MlpGradient gradient(model);
  for (int64_t rows : {9, 33, 5}) {
    const torch::Tensor x = torch::rand({rows, 1, 8, 8});
    const torch::Tensor eps = torch::randn({rows, 3});
    const torch::Tensor w = torch::full({3}, 1.0 / rows);
    model->zero_grad();
    const ElboSums expected = model->elbo_sums(x, eps);
    (expected.recon / rows + (w * expected.kl_per_dim).sum()).backward();
    std::vector<torch::Tensor> reference;
    for (const auto& p : model->parameters())
      reference.push_back(p.grad().clone());
    const ElboSums got = gradient.forward(x, eps);
    gradient.backward(1.0 / rows, w);
    EXPECT_NEAR(got.recon.item<double>(), expected.recon.item<double>(),
                1e-5 * expected.recon.item<double>());
    const auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_LT(testing::relative_diff(params[i].grad(), reference[i]), 1e-4) << rows << " rows";
  }
}

TEST(MlpGradient, ExtremeLogitsStayFinite) {
  // Saturated outputs: softplus and sigmoid must not overflow.
  const NetworkOptions options = NetworkOptions().height(4).width(4).hidden({8}).latent_dim(2);
  torch::manual_seed(3);
  VAE model(options);
  {
    torch::NoGradGuard no_grad;
    model->parameters().back().fill_(90.0);  // the output bias: logits ~ +90
  }
  const torch::Tensor x = torch::rand({6, 1, 4, 4}).round();
  const torch::Tensor eps = torch::randn({6, 2});
  const ElboSums expected = model->elbo_sums(x, eps);
  MlpGradient gradient(model);
  const ElboSums got = gradient.forward(x, eps);
  gradient.backward(1.0, torch::ones({2}));
  EXPECT_TRUE(std::isfinite(got.recon.item<double>()));
  EXPECT_NEAR(got.recon.item<double>(), expected.recon.item<double>(),
              1e-4 * expected.recon.item<double>());
  for (const auto& p : model->parameters())
    EXPECT_TRUE(p.grad().isfinite().all().item<bool>());
}

TEST(MlpGradient, CoversOnlyFloatMlpModelsOnTheCpu) {
  EXPECT_TRUE(MlpGradient::covers(VAE(NetworkOptions())));
  EXPECT_FALSE(MlpGradient::covers(VAE(NetworkOptions().arch(parse_architecture("conv")))));
  EXPECT_FALSE(MlpGradient::covers(VAE(NetworkOptions().autoregressive_kernel(3))));
  VAE doubled(NetworkOptions().hidden({8}).latent_dim(2));
  doubled->to(torch::kFloat64);
  EXPECT_FALSE(MlpGradient::covers(doubled));
  EXPECT_NE(testing::error_of([] {
              MlpGradient(VAE(NetworkOptions().arch(parse_architecture("conv"))));
            }).find("mlp"),
            std::string::npos);
}

// A likelihood the hand-derived gradient knows nothing of.
class OtherLikelihood final : public LikelihoodFamily {
 public:
  const char* name() const override { return "other"; }
  std::string help() const override { return ""; }
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams&) const override {
    return -(x - output).pow(2).flatten(1).sum(1);
  }
  torch::Tensor mean(const torch::Tensor& output) const override { return output; }
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams&,
                       at::Generator&) const override {
    return output;
  }
  std::string script_mean() const override { return ""; }
};

// covers() reads the modules it would differentiate, not the config: a layer
// or model part its derivation does not know sends the model to autograd.
TEST(MlpGradient, CoversOnlyTheLayersItDifferentiates) {
  const NetworkOptions small = NetworkOptions().hidden({8}).latent_dim(2);
  VAE normed(small);
  ASSERT_TRUE(MlpGradient::covers(normed));
  torch::nn::Sequential encoder_body = normed->encoder->body();
  encoder_body->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({8})));
  EXPECT_FALSE(MlpGradient::covers(normed));

  VAE tanh(small);
  torch::nn::Sequential decoder_body = tanh->decoder->body();
  decoder_body->push_back(torch::nn::Tanh());
  EXPECT_FALSE(MlpGradient::covers(tanh));

  VAE extra(small);
  extra->register_module("extra", torch::nn::Linear(2, 2));
  EXPECT_FALSE(MlpGradient::covers(extra));

  const OtherLikelihood other;
  EXPECT_FALSE(MlpGradient::covers(VAE(NetworkOptions(small).likelihood(&other))));
}

TEST(MlpGradient, RejectsInputOfTheWrongShape) {
  VAE model(NetworkOptions().hidden({8}).latent_dim(2));
  MlpGradient gradient(model);
  EXPECT_NE(testing::error_of([&] {
              gradient.forward(torch::rand({4, 1, 27, 28}), torch::randn({4, 2}));
            }),
            "");
  EXPECT_NE(testing::error_of([&] {
              gradient.forward(torch::rand({4, 1, 28, 28}), torch::randn({4, 3}));
            }),
            "");
}

}  // namespace
}  // namespace vae
