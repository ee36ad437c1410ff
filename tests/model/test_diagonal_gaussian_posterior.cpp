#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/gaussian.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"
#include "vae/model/vae_model.h"

namespace vae {
namespace {

// N(0, I) that does not say so: families must fall back to the Monte Carlo KL.
class UnflaggedStandardNormal final : public Prior {
 public:
  const char* name() const override { return "unflagged"; }
  std::string help() const override { return ""; }
  torch::Tensor log_prob(const torch::Tensor& z, const PriorContext& context) const override {
    return parse_prior("standard-normal")->log_prob(z, context);
  }
  torch::Tensor sample(int64_t n, const PriorContext& context, double temperature,
                       at::Generator& generator) const override {
    return parse_prior("standard-normal")->sample(n, context, temperature, generator);
  }
  std::string script_sample(const NetworkOptions& /*options*/) const override { return ""; }
};

TEST(DiagonalGaussianPosterior, ReadsMuAndLogVarianceFromTheStats) {
  const PosteriorFamily& family = *parse_posterior("diagonal-gaussian");
  const NetworkOptions three = NetworkOptions().latent_dim(3);
  EXPECT_EQ(family.stats_size(three), 6);
  EXPECT_EQ(family.noise_size(three), 3);
  EXPECT_EQ(family.make_parameters(three), nullptr);
  const torch::Tensor stats = torch::randn({4, 6}, torch::kFloat64);
  const torch::Tensor mu = stats.narrow(1, 0, 3), logvar = stats.narrow(1, 3, 3);
  const auto q = family.read(stats, three);
  EXPECT_TRUE(torch::equal(family.unit_means(stats, three), mu));
  EXPECT_TRUE(torch::equal(q->mean(), mu));
  ASSERT_EQ(q->outputs().size(), 2u);
  EXPECT_TRUE(torch::equal(q->outputs()[1], logvar));
  const torch::Tensor eps = torch::randn({4, 3}, torch::kFloat64);
  const torch::Tensor z = q->rsample(eps);
  EXPECT_TRUE(torch::allclose(z, mu + torch::exp(0.5 * logvar) * eps));
  // log q(z|x) against the normal density written out.
  const torch::Tensor expected =
      (-0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + std::log(2.0 * M_PI))).sum(1);
  EXPECT_TRUE(torch::allclose(q->log_prob(z), expected));
  EXPECT_TRUE(torch::allclose(q->kl_per_dim(*parse_prior("standard-normal")),
                              kl_standard_normal(mu, logvar)));
  EXPECT_FALSE(q->kl_per_dim(UnflaggedStandardNormal()).defined());
  EXPECT_TRUE(family.closed_form_kl(*parse_prior("standard-normal")));
  EXPECT_FALSE(family.closed_form_kl(UnflaggedStandardNormal()));
}

TEST(DiagonalGaussianPosterior, ExpandDrawsSeveralCodesPerImage) {
  const auto q = parse_posterior("diagonal-gaussian")
                     ->read(torch::randn({2, 4}), NetworkOptions().latent_dim(2));
  const auto many = q->expand(5);
  EXPECT_EQ(many->noise_size(), 2);
  const torch::Tensor eps = torch::randn({2, 5, 2});
  const torch::Tensor z = many->rsample(eps);
  ASSERT_EQ(z.sizes(), (torch::IntArrayRef{2, 5, 2}));
  for (int64_t s = 0; s < 5; ++s) {
    const torch::Tensor one = eps.select(1, s);
    EXPECT_TRUE(torch::allclose(z.select(1, s), q->rsample(one)));
    EXPECT_TRUE(torch::allclose(many->log_prob(z).select(1, s), q->log_prob(z.select(1, s))));
  }
}

TEST(DiagonalGaussianPosterior, EncodeColumnsAreMuAndSigma) {
  const torch::Tensor mu = torch::tensor({{0.5, -1.0}}), logvar = torch::tensor({{0.0, 2.0}});
  const PosteriorFamily& family = *parse_posterior("diagonal-gaussian");
  const NetworkOptions o = NetworkOptions{}.latent_dim(2);
  const auto columns = family.columns(*family.read(torch::cat({mu, logvar}, 1), o), o, 100);
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_EQ(columns[0].first, "mu");
  EXPECT_EQ(columns[1].first, "sigma");
  EXPECT_TRUE(torch::allclose(columns[1].second, torch::tensor({{1.0f, std::exp(1.0f)}})));
}

// Without a closed form the ELBO uses log q(z|x) - log p(z) at the sample:
// its mean over many draws is the closed-form KL, within standard errors.
TEST(DiagonalGaussianPosterior, MonteCarloKlMatchesTheClosedForm) {
  torch::manual_seed(3);
  const UnflaggedStandardNormal unflagged;
  VAE closed(NetworkOptions().latent_dim(3).hidden({16}));
  VAE monte_carlo(NetworkOptions().latent_dim(3).hidden({16}).prior(&unflagged));
  torch::NoGradGuard no_grad;
  auto source = closed->named_parameters(), target = monte_carlo->named_parameters();
  for (const auto& item : source)
    target[item.key()].copy_(item.value());
  const torch::Tensor x = torch::rand({1, 1, 28, 28});
  const torch::Tensor exact = closed->elbo_sums(x, torch::randn({1, 3})).kl_per_dim.sum();
  const int64_t draws = 4000;
  const torch::Tensor xs = x.expand({draws, 1, 28, 28});
  const ElboSums sums = monte_carlo->elbo_sums(xs, torch::randn({draws, 3}));
  ASSERT_EQ(sums.kl_per_dim.numel(), 1);
  // The per-draw values, for their standard error.
  const auto q = monte_carlo->encode(xs);
  const torch::Tensor z = q->rsample(torch::randn({draws, 3}));
  const torch::Tensor per_draw =
      q->log_prob(z) - unflagged.log_prob(z, PriorContext{NetworkOptions{}, {}, {}});
  const double se = per_draw.std().item<double>() / std::sqrt(static_cast<double>(draws));
  EXPECT_NEAR(sums.kl_per_dim.item<double>() / draws, exact.item<double>(), 4.0 * se);
  EXPECT_NEAR(per_draw.mean().item<double>(), exact.item<double>(), 4.0 * se);
}

}  // namespace
}  // namespace vae
