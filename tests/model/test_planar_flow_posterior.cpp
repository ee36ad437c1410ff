#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flow_checks.h"
#include "test_support.h"
#include "vae/model/gaussian.h"
#include "vae/model/vae_model.h"

namespace vae {
namespace {

NetworkOptions planar(int64_t latent, int64_t steps) {
  return NetworkOptions().posterior(parse_posterior("planar")).latent_dim(latent).flow_steps(steps);
}

TEST(PlanarFlowPosterior, StatsHoldTheBaseGaussianAndEachStepsParameters) {
  const PosteriorFamily& family = *parse_posterior("planar");
  EXPECT_EQ(family.stats_size(planar(4, 3)), 2 * 4 + 3 * (2 * 4 + 1));
  EXPECT_EQ(family.noise_size(planar(4, 3)), 4);
  EXPECT_EQ(family.make_parameters(planar(4, 3)), nullptr);
  EXPECT_FALSE(family.closed_form_kl(*parse_prior("standard-normal")));
  const torch::Tensor stats = torch::randn({5, family.stats_size(planar(4, 3))});
  EXPECT_TRUE(torch::equal(family.unit_means(stats, planar(4, 3)), stats.narrow(1, 0, 4)));
  const auto q = family.read(stats, planar(4, 3));
  EXPECT_FALSE(q->kl_per_dim(*parse_prior("standard-normal")).defined());
}

// log q at any z through the inverse: each step's scalar root by bisection.
TEST(PlanarFlowPosterior, LogProbInvertsTheFlow) {
  torch::manual_seed(8);
  testing::expect_log_prob_inverts_the_flow(*parse_posterior("planar"), planar(4, 5), nullptr, 1.5);
}

// Acceptance 1(a): log|det| of the flow equals that of its Jacobian.
TEST(PlanarFlowPosterior, LogDeterminantMatchesTheAutogradJacobian) {
  torch::manual_seed(3);
  const NetworkOptions o = planar(4, 5);
  for (int trial = 0; trial < 5; ++trial) {
    torch::Tensor stats =
        torch::randn({1, parse_posterior("planar")->stats_size(o)}, torch::kFloat64);
    testing::expect_flow_log_det_matches_jacobian(*parse_posterior("planar"), o, stats, nullptr);
  }
}

// Acceptance 1(b): u = w = b = 0 makes every map the identity.
TEST(PlanarFlowPosterior, ZeroMapsGiveExactlyTheDiagonalGaussian) {
  torch::manual_seed(4);
  const NetworkOptions o = planar(4, 3);
  torch::Tensor stats = torch::zeros({6, parse_posterior("planar")->stats_size(o)});
  stats.narrow(1, 0, 8).normal_();
  testing::expect_flow_is_identity(*parse_posterior("planar"), o, stats, nullptr);
}

TEST(PlanarFlowPosterior, KeepsTheMapsInvertible) {
  // w^T u far below -1 before the reparameterization of u (appendix A.1).
  const NetworkOptions o = planar(2, 1);
  const torch::Tensor stats =
      torch::tensor({{0.0, 0.0, 0.0, 0.0, -5.0, -5.0, 1.0, 1.0, 0.3}}, torch::kFloat64);
  const auto q = parse_posterior("planar")->read(stats, o);
  const torch::Tensor eps = torch::linspace(-4, 4, 41, torch::kFloat64).unsqueeze(1).repeat({1, 2});
  const auto draw = q->expand(41)->rsample_with_log_prob(eps.unsqueeze(0));
  EXPECT_TRUE(torch::isfinite(draw.log_q).all().item<bool>());
  // Monotone along the diagonal direction w: the map does not fold.
  const torch::Tensor along = draw.z.squeeze(0).sum(1);
  EXPECT_TRUE((along.narrow(0, 1, 40) - along.narrow(0, 0, 40)).gt(0).all().item<bool>());
}

TEST(PlanarFlowPosterior, ExpandDrawsLikeOneImageAtATime) {
  torch::manual_seed(5);
  testing::expect_expand_matches_rows(*parse_posterior("planar"), planar(3, 2), nullptr);
}

TEST(PlanarFlowPosterior, TrainsAVaeByTheMonteCarloKl) {
  torch::manual_seed(6);
  testing::expect_flow_vae_learns(planar(4, 2).hidden({32}));
}

}  // namespace
}  // namespace vae
