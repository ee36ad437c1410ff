// Proof tests: the estimators against quantities known in closed form.
#include "vae/objective/importance_sampling.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "objective/ppca.h"
#include "test_support.h"
#include "vae/data/batcher.h"
#include "vae/model/gaussian.h"

namespace vae {
namespace {

using testing::Ppca;

TEST(ProofPpca, ExactPosteriorMakesEveryWeightEqualToPx) {
  const Ppca model;
  const torch::Tensor x = model.sample(50);
  const auto [mu, logvar] = model.exact_posterior(x);
  const torch::Tensor log_w =
      log_importance_weights(x, *testing::gaussian_posterior(mu, logvar), 16, model.log_joint());
  const torch::Tensor exact = model.exact_log_px(x).unsqueeze(1);
  EXPECT_LT((log_w - exact).abs().max().item<double>(), 1e-9);  // gap = 0
}

TEST(ProofPpca, ElboBelowAndIwaeConvergesToTheExactLikelihood) {
  const Ppca model;
  torch::manual_seed(1);
  const torch::Tensor x = model.sample(20);
  auto [mu, logvar] = model.exact_posterior(x);
  mu = mu + 0.4;          // a wrong mean and too wide a variance:
  logvar = logvar + 1.0;  // the gap KL(q || p(z|x)) is about 0.4 nats
  const torch::Tensor exact = model.exact_log_px(x);
  const torch::Tensor log_w =
      log_importance_weights(x, *testing::gaussian_posterior(mu, logvar), 20000, model.log_joint());
  const torch::Tensor elbo = log_w.mean(1);
  const torch::Tensor elbo_se = log_w.std(1) / std::sqrt(20000.0);
  // ELBO <= log p(x) for every point, by more than the Monte-Carlo error.
  EXPECT_TRUE((elbo + 3 * elbo_se < exact).all().item<bool>());
  // L_k increases with k on average and reaches log p(x) within 0.05 nats per point.
  double previous = -INFINITY;
  for (int64_t k : {1, 10, 100, 1000}) {
    std::vector<torch::Tensor> bounds;
    for (int64_t r = 0; r < 20000 / k; ++r)
      bounds.push_back(log_mean_exp(log_w.narrow(1, r * k, k), k));
    const double mean = torch::stack(bounds).mean().item<double>();
    EXPECT_GT(mean, previous) << "k " << k;
    previous = mean;
  }
  const torch::Tensor iwae = log_mean_exp(log_w.narrow(1, 0, 5000), 5000);
  EXPECT_LT((iwae - exact).abs().max().item<double>(), 0.05);
  EXPECT_GT((exact - elbo).mean().item<double>(), 0.2);  // the gap the bound closed
}

// The minibatch estimate of the data set's ELBO, (N / b) sum over a uniformly
// drawn minibatch, is unbiased: its mean over many minibatches equals the
// full-data ELBO within the standard error.
TEST(ProofMinibatch, ScaledMinibatchElboIsUnbiased) {
  torch::manual_seed(2);
  VAE model(NetworkOptions().latent_dim(2).hidden({8}));
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t n = 300, b = 10;
  const torch::Tensor images = torch::randint(0, 256, {n, 28, 28}).to(torch::kUInt8);
  // Full data: sum over points of each point's ELBO, E_q[log w], from 400 samples each.
  const torch::Tensor x = images.to(torch::kFloat32).div(255.0).unsqueeze(1);
  const torch::Tensor log_w =
      log_importance_weights(x, *model->encode(x), 400, vae_log_joint(model));
  const double full = log_w.mean(1).sum().item<double>();
  const double full_se = std::sqrt((log_w.var(1) / 400.0).sum().item<double>());
  // Minibatches through the project's batcher and objective (beta = 1).
  Batcher batches(images, b, Binarize::kNone, torch::kCPU);
  const int64_t draws = 3000;
  std::vector<double> estimates;
  for (int64_t i = 0; i < draws; ++i) {
    batches.shuffle();
    const ElboTerms terms = model->elbo(batches.batch(0));
    estimates.push_back(-terms.loss.item<double>() * static_cast<double>(n));  // (N/b) * batch sum
  }
  const torch::Tensor e = torch::tensor(estimates, torch::kFloat64);
  const double mean = e.mean().item<double>();
  const double se = e.std().item<double>() / std::sqrt(static_cast<double>(draws));
  EXPECT_LT(std::abs(mean - full), 3.0 * std::sqrt(se * se + full_se * full_se))
      << "minibatch mean " << mean << " full " << full << " se " << se;
}

// The joint of copies (the window computed once per image) gives the same
// weights as the joint of the repeated images, in chunks or not, so the IWAE
// objective is unchanged by it.
TEST(ImportanceSampling, JointOfCopiesGivesTheSameWeights) {
  torch::manual_seed(4);
  VAE model(NetworkOptions()
                .latent_dim(3)
                .hidden({16})
                .autoregressive_kernel(5)
                .autoregressive_hidden(4)
                .autoregressive_gates_read_z(true));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      p.normal_(0.0, 0.3);
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::bernoulli(torch::full({5, 1, 28, 28}, 0.3));
  const std::unique_ptr<Posterior> q = model->encode(x);
  const int64_t k = 7;
  const torch::Tensor eps = torch::randn({5, k, q->noise_size()});
  const torch::Tensor want = log_importance_weights(x, *q, k, vae_log_joint(model), 8192, eps);
  for (int64_t max_rows : {int64_t{8192}, int64_t{15}}) {  // one chunk; chunks of 3 and a last of 1
    const torch::Tensor got =
        log_importance_weights(x, *q, k, vae_log_joint_of_copies(model), max_rows, eps);
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-3)) << max_rows;
  }
}

// d/dmu E[f(z)] = E[f'(z)] and d/dlogvar E[f(z)] = 0.5 sigma E[f'(z) eps] for
// f(z) = z^2 + 3z: analytically 2 mu + 3 and sigma^2.
TEST(ProofReparameterization, GradientMatchesTheAnalyticGradient) {
  torch::manual_seed(3);
  const int64_t samples = 200000;
  const torch::Tensor mu = torch::tensor({0.5, -1.0, 2.0}, torch::kFloat64).requires_grad_();
  const torch::Tensor logvar = torch::tensor({0.0, -1.0, 0.7}, torch::kFloat64).requires_grad_();
  const torch::Tensor z = reparameterize(mu.expand({samples, 3}), logvar.expand({samples, 3}));
  (z.pow(2) + 3.0 * z).sum(1).mean().backward();
  const torch::Tensor sigma = torch::exp(0.5 * logvar.detach());
  const torch::Tensor zd = z.detach();
  const torch::Tensor eps = (zd - mu.detach()) / sigma;
  // Per-sample gradient terms, for the standard errors.
  const torch::Tensor g_mu = 2 * zd + 3, g_lv = (2 * zd + 3) * 0.5 * sigma * eps;
  const torch::Tensor want_mu = 2 * mu.detach() + 3, want_lv = sigma.pow(2);
  for (int d = 0; d < 3; ++d) {
    const double se_mu = g_mu.select(1, d).std().item<double>() / std::sqrt(samples);
    const double se_lv = g_lv.select(1, d).std().item<double>() / std::sqrt(samples);
    EXPECT_NEAR(mu.grad()[d].item<double>(), want_mu[d].item<double>(), 4 * se_mu);
    EXPECT_NEAR(logvar.grad()[d].item<double>(), want_lv[d].item<double>(), 4 * se_lv);
  }
}

// Poisson counts with a Gamma(alpha, beta) prior on the rate have the exact
// posterior Gamma(alpha + sum x, beta + n). A Gamma q(lambda) = Gamma(a, b),
// fitted by Adam on the reparameterized ELBO (implicit gradients of the Gamma
// sampler, Figurnov et al. 2018), recovers its mean and variance.
TEST(ProofConjugate, PoissonGammaPosteriorIsRecovered) {
  torch::manual_seed(4);
  const double alpha = 2.0, beta = 1.0;
  const torch::Tensor x = torch::poisson(torch::full({20}, 4.0, torch::kFloat64));
  const double sum_x = x.sum().item<double>(), n = 20.0;
  const double lgamma_x = torch::lgamma(x + 1).sum().item<double>();
  const double post_a = alpha + sum_x, post_b = beta + n;

  torch::Tensor log_a = torch::zeros({1}, torch::kFloat64).requires_grad_();
  torch::Tensor log_b = torch::zeros({1}, torch::kFloat64).requires_grad_();
  torch::optim::Adam optimizer({log_a, log_b}, torch::optim::AdamOptions(0.05));
  double mean_sum = 0.0, var_sum = 0.0;
  int averaged = 0;
  for (int step = 0; step < 4000; ++step) {
    if (step == 2500) {
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(0.005);
      }
    }
    const torch::Tensor a = log_a.exp(), b = log_b.exp();
    const torch::Tensor lambda = torch::_standard_gamma(a.expand({64})) / b;
    const torch::Tensor log_lik = sum_x * torch::log(lambda) - n * lambda - lgamma_x;
    const torch::Tensor log_prior = alpha * std::log(beta) - std::lgamma(alpha) +
                                    (alpha - 1.0) * torch::log(lambda) - beta * lambda;
    const torch::Tensor entropy =
        a - torch::log(b) + torch::lgamma(a) + (1.0 - a) * torch::digamma(a);
    const torch::Tensor loss = -((log_lik + log_prior).mean() + entropy.sum());
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step >= 3000) {  // average the last iterates against SGD noise
      const double av = log_a.exp().item<double>(), bv = log_b.exp().item<double>();
      mean_sum += av / bv;
      var_sum += av / (bv * bv);
      ++averaged;
    }
  }
  const double mean = mean_sum / averaged, variance = var_sum / averaged;
  EXPECT_NEAR(mean, post_a / post_b, 0.02 * post_a / post_b);
  EXPECT_NEAR(variance, post_a / (post_b * post_b), 0.15 * post_a / (post_b * post_b));
}

}  // namespace
}  // namespace vae
