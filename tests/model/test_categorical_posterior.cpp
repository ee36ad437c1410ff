// The categorical posterior (Gumbel-softmax) and its uniform prior, proven
// against exact answers: draws against pi, the KL against a brute-force sum
// over every joint code, and the importance-sampled bound L_k of a small
// discrete model against its exactly summed log p(x) (issue 17, proofs d, e).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/network_options.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"
#include "vae/model/vae_model.h"
#include "vae/objective/importance_sampling.h"

namespace vae {
namespace {

NetworkOptions categorical(int64_t vars, int64_t categories) {
  return NetworkOptions{}
      .posterior(parse_posterior("categorical"))
      .prior(parse_prior("uniform-categorical"))
      .categorical_vars(vars)
      .categories(categories)
      .latent_dim(vars * categories);
}

// A module holding the temperature, in training mode at `tau`.
std::shared_ptr<torch::nn::Module> relaxation(const NetworkOptions& o, double tau) {
  auto module = o.posterior()->make_parameters(o);
  module->named_buffers(false)["temperature"].fill_(tau);
  module->train();
  return module;
}

TEST(CategoricalPosterior, GumbelNoiseMadeFromNormalNoiseIsGumbel) {
  // At a huge temperature a relaxed draw is linear in the noise: for K = 2
  // and equal logits, y_0 = sigmoid((g_0 - g_1) / tau) ~ 1/2 + (g_0 - g_1) / (4 tau),
  // and the difference of two Gumbel(0, 1) variables is logistic: mean 0,
  // variance pi^2 / 3, excess kurtosis 1.2.
  const NetworkOptions o = categorical(1, 2);
  const double tau = 1e6, n = 200000.0;
  const auto q = o.posterior()
                     ->read(torch::zeros({1, 2}, torch::kFloat64), o, relaxation(o, tau))
                     ->expand(200000);
  torch::manual_seed(3);
  const torch::Tensor y = q->rsample(torch::randn({1, 200000, 2}, torch::kFloat64))[0];
  const torch::Tensor d = (y.select(1, 0) - 0.5) * 4.0 * tau;
  const double var = M_PI * M_PI / 3.0;
  EXPECT_NEAR(d.mean().item<double>(), 0.0, 3.0 * std::sqrt(var / n));
  EXPECT_NEAR(d.var().item<double>(), var, 3.0 * var * std::sqrt(3.2 / n));
}

TEST(CategoricalPosterior, RelaxedDrawsAtLowTemperatureAverageToPi) {
  const NetworkOptions o = categorical(2, 3);
  const torch::Tensor logits =
      torch::tensor({{0.5, -1.0, 1.2, 0.0, 2.0, -0.3}}, torch::kFloat64);  // [1, V K]
  const torch::Tensor pi = torch::softmax(logits.view({2, 3}), -1).flatten();
  const int64_t s = 100000;
  torch::manual_seed(5);
  for (bool relaxed : {true, false}) {
    // Relaxed at tau = 0.01 (training), then exact one-hot draws.
    const auto family = o.posterior();
    const auto q = family->read(logits, o, relaxed ? relaxation(o, 0.01) : nullptr)->expand(s);
    const torch::Tensor z = q->rsample(torch::randn({1, s, 6}, torch::kFloat64))[0];  // [S, 6]
    // Every variable's entries sum to one.
    EXPECT_TRUE(torch::allclose(z.view({s, 2, 3}).sum(-1), torch::ones({s, 2}, torch::kFloat64)));
    if (!relaxed) {
      EXPECT_TRUE(torch::equal(z, z.round()));
    }
    const torch::Tensor mean = z.mean(0);
    // Within 3 standard errors of a Bernoulli(pi_k) average (a relaxed
    // entry in [0, 1] with mean pi varies less).
    const torch::Tensor se = (pi * (1.0 - pi) / static_cast<double>(s)).sqrt();
    EXPECT_TRUE(((mean - pi).abs() <= 3.0 * se).all().item<bool>())
        << (relaxed ? "relaxed " : "exact ") << mean << pi;
  }
}

TEST(CategoricalPosterior, StraightThroughIsOneHotForwardAndRelaxedBackward) {
  const NetworkOptions soft = categorical(2, 4);
  const NetworkOptions hard = categorical(2, 4).gumbel_hard(true);
  const torch::Tensor logits = torch::randn({3, 8}, torch::kFloat64);
  const torch::Tensor eps = torch::randn({3, 8}, torch::kFloat64);
  const torch::Tensor weights = torch::randn({3, 8}, torch::kFloat64);
  torch::Tensor grads[2];
  torch::Tensor draws[2];
  int i = 0;
  for (const NetworkOptions* o : {&soft, &hard}) {
    const torch::Tensor l = logits.clone().requires_grad_(true);
    draws[i] = o->posterior()->read(l, *o, relaxation(*o, 0.7))->rsample(eps);
    (draws[i] * weights).sum().backward();
    grads[i++] = l.grad();
  }
  const torch::Tensor one_hot = draws[1].detach().view({3, 2, 4});
  EXPECT_TRUE(torch::equal(one_hot, one_hot.round()));
  EXPECT_TRUE(torch::equal(one_hot.argmax(-1), draws[0].detach().view({3, 2, 4}).argmax(-1)));
  EXPECT_TRUE(torch::allclose(grads[0], grads[1]));
}

TEST(CategoricalPosterior, KlEqualsTheBruteForceSumOverEveryJointCode) {
  const NetworkOptions o = categorical(2, 3);
  const Prior& prior = *o.prior();
  const torch::Tensor logits = torch::randn({4, 6}, torch::kFloat64) * 2.0;
  const auto q = o.posterior()->read(logits, o);
  const torch::Tensor kl = q->kl_per_dim(prior);  // [4, 2]
  ASSERT_EQ(kl.sizes(), (torch::IntArrayRef{4, 2}));
  // KL(q || p) = sum over the 9 codes c of q(c) (log q(c) - log p(c)).
  for (int64_t n = 0; n < 4; ++n) {
    double brute = 0.0;
    for (int64_t a = 0; a < 3; ++a) {
      for (int64_t b = 0; b < 3; ++b) {
        torch::Tensor c = torch::zeros({1, 6}, torch::kFloat64);
        c[0][a] = 1.0;
        c[0][3 + b] = 1.0;
        const double log_q = q->log_prob(c)[n].item<double>();
        const double log_p = prior.log_prob(c, PriorContext{o, {}, {}})[0].item<double>();
        brute += std::exp(log_q) * (log_q - log_p);
      }
    }
    EXPECT_NEAR(kl[n].sum().item<double>(), brute, 1e-12);
  }
  // The prior: -2 log 3 for every code; its draws are uniform one-hot codes.
  EXPECT_NEAR(prior.log_prob(torch::zeros({1, 6}), PriorContext{o, {}, {}})[0].item<double>(),
              -2.0 * std::log(3.0), 1e-6);
  auto generator = at::detail::createCPUGenerator(9);
  const torch::Tensor z = prior.sample(30000, PriorContext{o, {}, {}}, 1.0, generator);
  EXPECT_TRUE(torch::equal(z.view({30000, 2, 3}).sum(-1), torch::ones({30000, 2})));
  const torch::Tensor share = z.mean(0);
  const double se = std::sqrt((1.0 / 3.0) * (2.0 / 3.0) / 30000.0);
  EXPECT_TRUE(((share - 1.0 / 3.0).abs() <= 4.0 * se).all().item<bool>()) << share;
}

TEST(CategoricalPosterior, RelaxedDrawsRefuseALogDensity) {
  const NetworkOptions o = categorical(2, 3);
  const auto q = o.posterior()->read(torch::zeros({1, 6}), o, relaxation(o, 0.5));
  EXPECT_THROW(q->rsample_with_log_prob(torch::randn({1, 6})), Error);
}

// A small discrete model, 2 variables x 3 categories and a 2x2 binary
// image, where p(x) = sum over the 9 codes of p(c) p(x|c) is exact.
class SmallDiscreteModel : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(11);
    NetworkOptions o = categorical(2, 3).height(2).width(2).hidden({6});
    model = VAE(o);
    model->to(torch::kFloat64);
    // Weights large enough that q and p(x|c) are far from uniform.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      p.mul_(3.0);
    model->eval();
    x = torch::tensor({1.0, 0.0, 1.0, 1.0}, torch::kFloat64).view({1, 1, 2, 2});
  }
  // log p(x|c) + log p(c) of the 9 codes [9] and the codes [9, 6].
  std::pair<torch::Tensor, torch::Tensor> joint() {
    torch::Tensor codes = torch::zeros({9, 6}, torch::kFloat64);
    for (int64_t a = 0; a < 3; ++a) {
      for (int64_t b = 0; b < 3; ++b) {
        codes[3 * a + b][a] = 1.0;
        codes[3 * a + b][3 + b] = 1.0;
      }
    }
    const torch::Tensor x9 = x.expand({9, 1, 2, 2});
    return {vae_log_joint(model)(x9, codes), codes};
  }
  VAE model{nullptr};
  torch::Tensor x;
};

TEST_F(SmallDiscreteModel, ImportanceSampledBoundRisesWithKAndStaysBelowTheExactLogPx) {
  torch::NoGradGuard no_grad;
  const auto [log_joint, codes] = joint();
  const double log_px = torch::logsumexp(log_joint, 0).item<double>();
  const auto q = model->encode(x);
  const torch::Tensor log_q = q->log_prob(codes.unsqueeze(0))[0];  // [9]
  const torch::Tensor qc = log_q.exp();
  ASSERT_NEAR(qc.sum().item<double>(), 1.0, 1e-12);
  const torch::Tensor log_w = log_joint - log_q;  // [9]
  // Exact expectations: E[L_1] = the ELBO; E[L_2] over the 81 pairs.
  const double elbo = (qc * log_w).sum().item<double>();
  const torch::Tensor pair_q = qc.unsqueeze(1) * qc.unsqueeze(0);
  const torch::Tensor pair_l =
      torch::logaddexp(log_w.unsqueeze(1), log_w.unsqueeze(0)) - std::log(2.0);
  const double l2 = (pair_q * pair_l).sum().item<double>();
  EXPECT_LT(elbo, l2);
  EXPECT_LT(l2, log_px);

  // The estimator with hard draws (evaluation mode), 20,000 replicates:
  // its means agree with the exact ones within 3 standard errors, rise with
  // k and stay below log p(x).
  const int64_t reps = 20000;
  const torch::Tensor xs = x.expand({reps, 1, 2, 2});
  const auto qs = model->encode(xs);
  double previous = -1e300;
  for (int64_t k : {1, 2, 10, 100}) {
    const torch::Tensor lk =
        log_mean_exp(log_importance_weights(xs, *qs, k, vae_log_joint(model), reps * k), k);
    const double mean = lk.mean().item<double>();
    const double se = lk.std().item<double>() / std::sqrt(static_cast<double>(reps));
    if (k == 1) {
      EXPECT_NEAR(mean, elbo, 3.0 * se);
    }
    if (k == 2) {
      EXPECT_NEAR(mean, l2, 3.0 * se);
    }
    EXPECT_GT(mean, previous) << "k = " << k;
    EXPECT_LT(mean, log_px + 3.0 * se) << "k = " << k;
    previous = mean;
  }
  // k = 1000: E[L_k] = log p(x) - Var_q(w) / (2 k p(x)^2) + O(1/k^2) (the
  // delta method), Var_q(w) summed exactly over the 9 codes.
  const int64_t k = 1000, r = 400;
  const torch::Tensor xr = x.expand({r, 1, 2, 2});
  const torch::Tensor lk = log_mean_exp(
      log_importance_weights(xr, *model->encode(xr), k, vae_log_joint(model), r * k), k);
  const double p = std::exp(log_px);
  const double var_w = (qc * (2.0 * log_w).exp()).sum().item<double>() - p * p;
  const double mean = lk.mean().item<double>();
  const double se = lk.std().item<double>() / std::sqrt(static_cast<double>(r));
  EXPECT_NEAR(mean, log_px - var_w / (2.0 * k * p * p), 3.0 * se);
  EXPECT_LT(mean, log_px);
}

TEST_F(SmallDiscreteModel, EvaluationElboUsesExactDrawsAndTheClosedFormKl) {
  torch::NoGradGuard no_grad;
  const auto [log_joint, codes] = joint();
  const auto q = model->encode(x);
  const torch::Tensor log_q = q->log_prob(codes.unsqueeze(0))[0];
  const torch::Tensor qc = log_q.exp();
  // E_q[log p(x|c)] exactly, and the one-draw estimate's mean over draws.
  const torch::Tensor log_lik = log_joint + 2.0 * std::log(3.0);
  const double recon = -(qc * log_lik).sum().item<double>();
  const int64_t reps = 20000;
  const torch::Tensor xs = x.expand({reps, 1, 2, 2});
  const ElboSums sums = model->elbo_sums(xs, torch::randn({reps, 6}, torch::kFloat64));
  const double kl = (qc * (log_q + 2.0 * std::log(3.0))).sum().item<double>();
  EXPECT_NEAR(sums.kl_per_dim.sum().item<double>() / reps, kl, 1e-9);
  ASSERT_EQ(sums.kl_per_dim.size(0), 2);  // one KL per variable
  // The recon sum's per-draw standard deviation is at most the spread of log p(x|c).
  const double spread = (log_lik.max() - log_lik.min()).item<double>();
  EXPECT_NEAR(sums.recon.item<double>() / reps, recon, 3.0 * spread / std::sqrt(1.0 * reps));
}

}  // namespace
}  // namespace vae
