#include "vae/evaluation/fast_log_joint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace vae {
namespace {

TEST(FastLogJoint, FusedBernoulliEqualsTheFormulaInDoublePrecision) {
  // Logits across the range, saturated ones included, binary and grey x.
  torch::manual_seed(1);
  const torch::Tensor logits =
      torch::cat({40.0 * torch::rand({50, 1, 7, 9}) - 20.0, torch::full({2, 1, 7, 9}, 95.0),
                  torch::full({2, 1, 7, 9}, -95.0)});
  for (const torch::Tensor& x :
       {torch::rand(logits.sizes()).round(), torch::rand(logits.sizes())}) {
    const torch::Tensor l = logits.to(torch::kFloat64).flatten(1);
    const torch::Tensor expected =
        (x.to(torch::kFloat64).flatten(1) * l - torch::softplus(l)).sum(1);
    const torch::Tensor got = bernoulli_log_prob_fused(x, logits);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_TRUE(got.isfinite().all().item<bool>());
    // Per row: float terms summed in float.
    EXPECT_LT((got.to(torch::kFloat64) - expected).abs().max().item<double>() /
                  expected.abs().max().item<double>(),
              1e-5);
  }
}

// evaluation_log_joint gives vae_log_joint's values, whichever path it takes:
// the decoder pass (mlp), the fused Bernoulli (conv), the modules (a conv
// with a Gaussian likelihood, a VampPrior).
TEST(FastLogJoint, EqualsTheModulesJointOnEveryPath) {
  const NetworkOptions small = NetworkOptions().height(8).width(8).hidden({16}).latent_dim(3);
  const NetworkOptions conv =
      NetworkOptions(small).arch(parse_architecture("conv")).channels({4, 8});
  const std::vector<NetworkOptions> models = {
      small, conv, NetworkOptions(conv).likelihood(parse_likelihood("gaussian")).sigma(0.3),
      NetworkOptions(small).prior(parse_prior("vamp")).pseudo_inputs(5)};
  for (size_t i = 0; i < models.size(); ++i) {
    SCOPED_TRACE("model " + std::to_string(i));
    torch::manual_seed(2);
    VAE model(models[i]);
    model->eval();
    const torch::Tensor x = torch::rand({40, 1, 8, 8}).round();
    const torch::Tensor z = torch::randn({40, 3});
    const c10::InferenceMode inference;
    const torch::Tensor expected = vae_log_joint(model)(x, z);
    const torch::Tensor got = evaluation_log_joint(model)(x, z);
    EXPECT_LT(testing::relative_diff(got, expected), 1e-5);
  }
}

}  // namespace
}  // namespace vae
