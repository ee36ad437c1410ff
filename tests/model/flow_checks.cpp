#include "model/flow_checks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/gaussian.h"
#include "vae/model/vae_model.h"

namespace vae::testing {

void expect_flow_log_det_matches_jacobian(const PosteriorFamily& family,
                                          const NetworkOptions& options, torch::Tensor stats,
                                          const std::shared_ptr<torch::nn::Module>& parameters) {
  const int64_t d = options.latent_dim();
  if (parameters) parameters->to(torch::kFloat64);
  stats = stats.to(torch::kFloat64).clone();
  stats.narrow(1, 0, 2 * d).zero_();  // mu = 0, logvar = 0: z_0 = eps
  const auto q = family.read(stats, options, parameters);
  for (int trial = 0; trial < 5; ++trial) {
    const torch::Tensor eps = torch::randn({1, d}, torch::kFloat64).requires_grad_(true);
    const PosteriorDraw draw = q->rsample_with_log_prob(eps);
    const torch::Tensor jacobian = torch::zeros({d, d}, torch::kFloat64);
    for (int64_t i = 0; i < d; ++i) {
      const torch::Tensor row = torch::autograd::grad({draw.z[0][i]}, {eps}, {},
                                                      /*retain_graph=*/true)[0];
      jacobian[i].copy_(row[0]);
    }
    const double expected = std::get<1>(torch::linalg::slogdet(jacobian)).item<double>();
    const torch::Tensor zeros = torch::zeros({1, d}, torch::kFloat64);
    const double got =
        (log_normal_diag(eps.detach(), zeros, zeros) - draw.log_q.detach()).item<double>();
    EXPECT_NEAR(got, expected, 1e-4) << "trial " << trial;
    // The flow is not the identity here: the check has something to check.
    EXPECT_GT(std::abs(expected), 1e-3) << "trial " << trial;
  }
}

void expect_flow_is_identity(const PosteriorFamily& family, const NetworkOptions& options,
                             const torch::Tensor& stats,
                             const std::shared_ptr<torch::nn::Module>& parameters) {
  const int64_t d = options.latent_dim();
  const auto q = family.read(stats, options, parameters);
  const auto base = parse_posterior("diagonal-gaussian")
                        ->read(stats.narrow(1, 0, 2 * d), NetworkOptions(options).latent_dim(d));
  const torch::Tensor eps = torch::randn({stats.size(0), d}, stats.options());
  const PosteriorDraw draw = q->rsample_with_log_prob(eps);
  const torch::Tensor z0 = base->rsample(eps);
  EXPECT_TRUE(torch::equal(draw.z, z0));
  EXPECT_TRUE(torch::equal(draw.log_q, base->log_prob(z0)));
  EXPECT_TRUE(torch::equal(q->rsample(eps), z0));
  EXPECT_TRUE(torch::equal(q->mean(), base->mean()));
}

void expect_expand_matches_rows(const PosteriorFamily& family, const NetworkOptions& options,
                                const std::shared_ptr<torch::nn::Module>& parameters) {
  const int64_t d = options.latent_dim(), n = 3, s = 4;
  const torch::Tensor stats = torch::randn({n, family.stats_size(options)});
  const torch::Tensor eps = torch::randn({n, s, d});
  const PosteriorDraw many =
      family.read(stats, options, parameters)->expand(s)->rsample_with_log_prob(eps);
  ASSERT_EQ(many.z.sizes(), (torch::IntArrayRef{n, s, d}));
  ASSERT_EQ(many.log_q.sizes(), (torch::IntArrayRef{n, s}));
  for (int64_t i = 0; i < n; ++i) {
    const auto one = family.read(stats.narrow(0, i, 1), options, parameters);
    const PosteriorDraw row = one->rsample_with_log_prob(eps[i]);
    EXPECT_TRUE(torch::allclose(many.z[i], row.z, 1e-5, 1e-6)) << "image " << i;
    EXPECT_TRUE(torch::allclose(many.log_q[i], row.log_q, 1e-5, 1e-5)) << "image " << i;
  }
}

void expect_log_prob_inverts_the_flow(const PosteriorFamily& family, const NetworkOptions& options,
                                      const std::shared_ptr<torch::nn::Module>& parameters,
                                      double scale) {
  // float64 throughout: the check is of the algorithm, not of float32's
  // rounding, which an ill-conditioned flow amplifies.
  if (parameters) parameters->to(torch::kFloat64);
  const int64_t d = options.latent_dim(), n = 5, s = 6;
  const auto f64 = torch::TensorOptions(torch::kFloat64);
  const torch::Tensor stats = torch::randn({n, family.stats_size(options)}, f64) * scale;
  const auto q = family.read(stats, options, parameters);
  const PosteriorDraw one = q->rsample_with_log_prob(torch::randn({n, d}, f64));
  EXPECT_LE((q->log_prob(one.z) - one.log_q).abs().max().item<double>(), 1e-6);
  const auto many = q->expand(s);
  const PosteriorDraw draws = many->rsample_with_log_prob(torch::randn({n, s, d}, f64));
  const torch::Tensor log_q = many->log_prob(draws.z);
  ASSERT_EQ(log_q.sizes(), (torch::IntArrayRef{n, s}));
  EXPECT_LE((log_q - draws.log_q).abs().max().item<double>(), 1e-6);
}

void expect_flow_vae_learns(const NetworkOptions& options) {
  NetworkOptions o = options;
  o.in_channels(1).height(4).width(4);
  VAE model(o);
  // Two prototypes, each pixel flipped with probability 0.1.
  const torch::Tensor prototypes = torch::randint(0, 2, {2, 16}).to(torch::kFloat32);
  const torch::Tensor pick = torch::randint(0, 2, {64});
  const torch::Tensor flips = torch::rand({64, 16}).lt(0.1).to(torch::kFloat32);
  const torch::Tensor x = (prototypes.index_select(0, pick) - flips).abs().view({64, 1, 4, 4});
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-2));
  auto mean_loss = [&](int draws) {
    torch::NoGradGuard no_grad;
    double sum = 0.0;
    for (int i = 0; i < draws; ++i)
      sum += model->elbo(x).loss.item<double>();
    return sum / draws;
  };
  const double before = mean_loss(20);
  for (int step = 0; step < 150; ++step) {
    adam.zero_grad();
    const ElboTerms terms = model->elbo(x);
    ASSERT_EQ(terms.kl_per_dim.numel(), 1);  // the Monte Carlo estimate, one column
    terms.loss.backward();
    adam.step();
  }
  const double after = mean_loss(20);
  // -log p(x) under the process that drew the images: a mixture of the two
  // prototypes' Bernoulli(0.9 / 0.1) pixels.
  const torch::Tensor flat = x.view({64, 1, 16});
  const torch::Tensor agree = (flat - prototypes.unsqueeze(0)).abs().lt(0.5).to(torch::kFloat64);
  const torch::Tensor log_px =
      torch::logsumexp((agree * std::log(0.9) + (1 - agree) * std::log(0.1)).sum(2), 1) -
      std::log(2.0);
  const double exact = -log_px.mean().item<double>();
  EXPECT_LT(after, before - 3.0) << "before " << before << ", after " << after;
  EXPECT_LT(after, exact + 2.0) << "exact -log p(x) " << exact << ", -ELBO " << after;
}

}  // namespace vae::testing
