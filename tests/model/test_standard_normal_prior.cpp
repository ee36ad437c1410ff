#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/network_options.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(StandardNormalPrior, LogDensityIsTheStandardNormal) {
  const Prior& prior = *parse_prior("standard-normal");
  EXPECT_TRUE(prior.standard_normal());
  const torch::Tensor z = torch::tensor({{0.0, 1.0}, {-2.0, 0.5}}, torch::kFloat64);
  const torch::Tensor expected = (-0.5 * z.pow(2) - 0.5 * std::log(2.0 * M_PI)).sum(1);
  EXPECT_TRUE(torch::allclose(prior.log_prob(z, PriorContext{NetworkOptions{}, {}, {}}), expected));
  // [N, S, D] codes give [N, S].
  EXPECT_EQ(prior.log_prob(torch::zeros({3, 4, 2}), PriorContext{NetworkOptions{}, {}, {}}).sizes(),
            (torch::IntArrayRef{3, 4}));
}

TEST(StandardNormalPrior, SamplesAreSeededAndScaledByTemperature) {
  const Prior& prior = *parse_prior("standard-normal");
  const NetworkOptions options = NetworkOptions{}.latent_dim(3);
  const PriorContext context{options, {}, {}};
  auto a = at::detail::createCPUGenerator(5), b = at::detail::createCPUGenerator(5);
  const torch::Tensor one = prior.sample(4000, context, 1.0, a);
  EXPECT_EQ(one.sizes(), (torch::IntArrayRef{4000, 3}));
  EXPECT_TRUE(torch::allclose(prior.sample(4000, context, 0.5, b), 0.5 * one));
  // Moments within 5 standard errors (sd of the mean 1/sqrt(n), of the
  // variance sqrt(2/n)).
  EXPECT_NEAR(one.mean().item<double>(), 0.0, 5.0 / std::sqrt(12000.0));
  EXPECT_NEAR(one.var().item<double>(), 1.0, 5.0 * std::sqrt(2.0 / 12000.0));
}

TEST(PriorTable, NamesTheChoicesOnAnUnknownName) {
  EXPECT_EQ(to_string(parse_prior("standard-normal")), "standard-normal");
  try {
    parse_prior("flow");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--prior must be standard-normal, uniform-categorical, mog or vamp, not 'flow'");
  }
}

}  // namespace
}  // namespace vae
