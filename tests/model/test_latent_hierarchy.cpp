// Hierarchical latents (issue 18): (a) a two-layer linear-Gaussian model,
// whose log p(x) is in closed form, for both inference networks; the KL
// terms against log q - log p; (b) a learned prior on the top layer against
// a brute-force mixture; (c) one layer is the plain VAE, bit for bit.
#include "vae/model/latent_hierarchy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/model/gaussian.h"
#include "vae/model/vae_model.h"
#include "vae/objective/importance_sampling.h"

namespace vae {
namespace {

const auto kF64 = torch::kFloat64;

// z_2 ~ N(0, 1) [1], z_1 | z_2 ~ N(A z_2 + a, diag v) [2],
// x | z_1 ~ N(W z_1 + b, s^2 I) [5], W with orthogonal columns. Then
// z_1 ~ N(a, C = A A^T + diag v) and x ~ N(W a + b, W C W^T + s^2 I).
struct LinearGaussian {
  torch::Tensor A = torch::tensor({{1.5}, {-0.8}}, kF64);
  torch::Tensor a = torch::tensor({0.3, -0.2}, kF64);
  torch::Tensor v = torch::tensor({0.4, 0.25}, kF64);
  torch::Tensor W, b;
  double s = 0.5;

  LinearGaussian() {
    torch::manual_seed(0);
    const torch::Tensor q = std::get<0>(torch::linalg::qr(torch::randn({5, 2}, kF64)));
    W = q * torch::tensor({2.0, 0.9}, kF64);
    b = torch::randn({5}, kF64);
  }
  torch::Tensor cov_z1() const { return A.mm(A.t()) + torch::diag(v); }
  torch::Tensor sample(int64_t n) const {
    const torch::Tensor z2 = torch::randn({n, 1}, kF64);
    const torch::Tensor z1 = z2.mm(A.t()) + a + v.sqrt() * torch::randn({n, 2}, kF64);
    return z1.mm(W.t()) + b + s * torch::randn({n, 5}, kF64);
  }
  torch::Tensor exact_log_px(const torch::Tensor& x) const {
    const torch::Tensor c = W.mm(cov_z1()).mm(W.t()) + s * s * torch::eye(5, kF64);
    const torch::Tensor diff = x - (W.mv(a) + b);
    const torch::Tensor quad = (diff.mm(c.inverse()) * diff).sum(1);
    return -0.5 * (5.0 * std::log(2 * M_PI) + c.logdet() + quad);
  }
  // log p(x | z_1) + log p(z_2), to which the hierarchy adds log p(z_1|z_2).
  LogJoint log_joint(const LatentHierarchyImpl& h) const {
    return [this, &h](const torch::Tensor& x, const torch::Tensor& z) {
      const torch::Tensor z1 = z.narrow(1, 0, 2), z2 = z.narrow(1, 2, 1);
      const torch::Tensor mean = z1.mm(W.t()) + b;
      return log_normal_diag(x, mean, torch::full_like(mean, std::log(s * s))) +
             log_normal_diag(z2, torch::zeros_like(z2), torch::zeros_like(z2)) +
             h.log_conditional_prior(z);
    };
  }
  // The likelihood as a Gaussian in z_1: N(mu_x, s^2 (W^T W)^-1), diagonal.
  torch::Tensor wtw() const { return (W * W).sum(0); }
  torch::Tensor likelihood_mean(const torch::Tensor& x) const { return (x - b).mm(W) / wtw(); }
  torch::Tensor likelihood_logvar() const { return torch::log(s * s / wtw()); }
};

NetworkOptions two_layers(Inference inference) {
  return NetworkOptions{}
      .latent_layers(2)
      .latent_dims({2, 1})
      .latent_dim(2)
      .layer_hidden({})
      .inference(inference);
}

// The nets are single Linear layers here: [mu rows; logvar rows].
void set_linear(const torch::nn::ModuleList& nets, const torch::Tensor& weight,
                const torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  auto* linear = nets->ptr<torch::nn::SequentialImpl>(0)->ptr<torch::nn::LinearImpl>(0).get();
  linear->weight.copy_(weight);
  linear->bias.copy_(bias);
}

// p(z_1 | z_2): mean A z_2 + a, log variance log v.
void set_conditional_prior(const LatentHierarchyImpl& h, const LinearGaussian& m) {
  set_linear(h.down(), torch::cat({m.A, torch::zeros({2, 1}, kF64)}), torch::cat({m.a, m.v.log()}));
}

struct Estimates {
  torch::Tensor log_w, exact;
};

Estimates weights(const LinearGaussian& m, const LatentHierarchyImpl& h, const torch::Tensor& x,
                  const torch::Tensor& stats, int64_t k) {
  const std::unique_ptr<Posterior> q = hierarchical_posterior(stats, h);
  return {log_importance_weights(x, *q, k, m.log_joint(h)), m.exact_log_px(x)};
}

// The ladder with the exact bottom-up Gaussians and q(z_2|x) = p(z_2|x)
// has the exact posterior: p(z_1|z_2, x) is the precision-weighted merge of
// p(z_1|z_2) and the likelihood's Gaussian in z_1.
std::pair<LatentHierarchy, torch::Tensor> exact_ladder(const LinearGaussian& m,
                                                       const torch::Tensor& x) {
  LatentHierarchy h(two_layers(Inference::kLadder));
  h->to(kF64);
  set_conditional_prior(*h, m);
  // mu^_1 | z_2 ~ N(A z_2 + a, V + S): p(z_2|x) has precision
  // P = 1 + A^T (V + S)^-1 A and mean P^-1 A^T (V + S)^-1 (mu^_1 - a).
  const torch::Tensor vs = m.v + m.likelihood_logvar().exp();  // diagonal
  const torch::Tensor p = 1.0 + (m.A.squeeze(1).pow(2) / vs).sum();
  const torch::Tensor gain = (m.A.squeeze(1) / vs / p).unsqueeze(0);  // [1, 2]
  set_linear(
      h->up(),
      torch::cat({torch::cat({gain, torch::zeros({1, 2}, kF64)}, 1), torch::zeros({1, 4}, kF64)}),
      torch::cat({-(gain.squeeze(0) * m.a).sum().reshape({1}), (-p.log()).reshape({1})}));
  const torch::Tensor stats =
      torch::cat({m.likelihood_mean(x), m.likelihood_logvar().expand({x.size(0), 2})}, 1);
  return {h, stats};
}

TEST(ProofLatentHierarchy, ExactLadderPosteriorMakesEveryWeightEqualToPx) {
  const LinearGaussian m;
  torch::manual_seed(1);
  const torch::Tensor x = m.sample(40);
  auto [h, stats] = exact_ladder(m, x);
  const Estimates e = weights(m, *h, x, stats, 16);
  EXPECT_LT((e.log_w - e.exact.unsqueeze(1)).abs().max().item<double>(), 1e-9);
}

// The ELBO lies below log p(x) by more than its Monte-Carlo error at every
// point, and L_k reaches log p(x) within 0.1 nats at k = 5000.
void expect_bound_and_convergence(const Estimates& e, double min_gap) {
  const int64_t k = e.log_w.size(1);
  const torch::Tensor elbo = e.log_w.mean(1);
  const torch::Tensor elbo_se = e.log_w.std(1) / std::sqrt(static_cast<double>(k));
  EXPECT_TRUE((elbo + 3 * elbo_se < e.exact).all().item<bool>());
  const torch::Tensor iwae = log_mean_exp(e.log_w.narrow(1, 0, 5000), 5000);
  EXPECT_LT((iwae - e.exact).abs().max().item<double>(), 0.1);
  EXPECT_GT((e.exact - elbo).mean().item<double>(), min_gap);  // the gap the bound closed
}

TEST(ProofLatentHierarchy, LadderElboBelowAndIwaeConvergesToTheExactLikelihood) {
  const LinearGaussian m;
  torch::manual_seed(2);
  const torch::Tensor x = m.sample(20);
  auto [h, stats] = exact_ladder(m, x);
  // A wrong bottom-up mean and too wide a variance.
  stats = stats + torch::tensor({0.4, -0.3, 1.0, 1.0}, kF64);
  expect_bound_and_convergence(weights(m, *h, x, stats, 20000), 0.1);
}

TEST(ProofLatentHierarchy, BottomUpElboBelowAndIwaeConvergesToTheExactLikelihood) {
  const LinearGaussian m;
  LatentHierarchy h(two_layers(Inference::kBottomUp));
  h->to(kF64);
  set_conditional_prior(*h, m);
  // q(z_2|z_1) = p(z_2|z_1): precision P = 1 + A^T V^-1 A, mean
  // P^-1 A^T V^-1 (z_1 - a).
  const torch::Tensor p = 1.0 + (m.A.squeeze(1).pow(2) / m.v).sum();
  const torch::Tensor gain = (m.A.squeeze(1) / m.v / p).unsqueeze(0);  // [1, 2]
  set_linear(h->up(), torch::cat({gain, torch::zeros({1, 2}, kF64)}),
             torch::cat({-(gain.squeeze(0) * m.a).sum().reshape({1}), (-p.log()).reshape({1})}));
  // q(z_1|x): the exact posterior's mean, the diagonal of its precision.
  torch::manual_seed(3);
  const torch::Tensor x = m.sample(20);
  const torch::Tensor c_inv = m.cov_z1().inverse();
  const torch::Tensor lambda = c_inv + torch::diag(m.wtw()) / (m.s * m.s);
  const torch::Tensor mean =
      (c_inv.mv(m.a).unsqueeze(0) + (x - m.b).mm(m.W) / (m.s * m.s)).mm(lambda.inverse());
  const torch::Tensor stats =
      torch::cat({mean, (-lambda.diagonal().log()).expand({x.size(0), 2})}, 1);
  // A diagonal q(z_1|x) for a correlated posterior: a gap, but a small one.
  expect_bound_and_convergence(weights(m, *h, x, stats, 20000), 0.005);
}

// A 4x4-pixel model with layers of widths `dims`.
NetworkOptions small_model(Inference inference, const std::vector<int64_t>& dims) {
  return NetworkOptions{}
      .latent_layers(static_cast<int64_t>(dims.size()))
      .latent_dims(dims)
      .latent_dim(dims.front())
      .layer_hidden({8})
      .height(4)
      .width(4)
      .hidden({16})
      .inference(inference);
}

// The ELBO's KL terms (closed form where it exists, log q - log p at the
// draw elsewhere) estimate the same E_q[log q(z|x) - log p(z)], and log_q at
// a draw is the draw's log q, for both inference networks.
TEST(LatentHierarchy, KlTermsAreUnbiasedAndLogQIsExact) {
  for (Inference inference : {Inference::kBottomUp, Inference::kLadder}) {
    torch::manual_seed(5);
    VAE model(small_model(inference, {4, 3, 2}));
    model->to(kF64);
    const int64_t n = 20000;
    const torch::Tensor x = torch::rand({1, 1, 4, 4}, kF64).expand({n, 1, 4, 4});
    const torch::Tensor eps = torch::randn({n, 9}, kF64);
    const torch::Tensor stats = model->encoder->forward(x);
    const HierarchyDraw draw = model->hierarchy()->draw(stats, eps);
    EXPECT_LT((model->hierarchy()->log_q(stats, draw.z) - draw.log_q).abs().max().item<double>(),
              1e-10);
    const torch::Tensor kl = draw.kl.sum(1), mc = draw.log_q - model->log_prior(draw.z);
    const double se = std::sqrt((kl.var() / n + mc.var() / n).item<double>());
    EXPECT_LT(std::abs((kl.mean() - mc.mean()).item<double>()), 4 * se)
        << to_string(inference) << " se " << se;
    // The sampled codes' widths and the mean pass's.
    EXPECT_EQ(draw.z.size(1), 9);
    EXPECT_EQ(model->encode(x.narrow(0, 0, 3))->mean().sizes(), (std::vector<int64_t>{3, 9}));
  }
}

// A learned prior on the top layer: log p(z) is the conditionals plus the
// mixture over z_L, against a brute-force loop over its components (the
// VampPrior's: the top layer's q along the means at each pseudo-input).
TEST(LatentHierarchy, LearnedTopPriorIsABruteForceMixtureOverTheTopLayer) {
  for (Inference inference : {Inference::kBottomUp, Inference::kLadder}) {
    for (const char* name : {"mog", "vamp"}) {
      torch::manual_seed(9);
      VAE model(small_model(inference, {4, 3, 2})
                    .prior(parse_prior(name))
                    .prior_components(3)
                    .pseudo_inputs(3));
      model->to(kF64);
      const auto parameters = model->named_parameters();
      torch::Tensor means, logvars, log_weights;
      if (std::string(name) == "mog") {
        means = parameters["prior.means"];
        logvars = parameters["prior.logvars"];
        log_weights = torch::log_softmax(parameters["prior.logits"], 0);
      } else {
        const torch::Tensor u = torch::clamp(parameters["prior.pseudo_inputs"], 0.0, 1.0);
        const auto [mu, logvar] = model->hierarchy()->mean_pass(model->encoder->forward(u));
        means = mu.narrow(1, 7, 2);
        logvars = logvar.narrow(1, 7, 2);
        log_weights = torch::full({3}, -std::log(3.0), kF64);
      }
      ASSERT_EQ(means.sizes(), (torch::IntArrayRef{3, 2})) << name;
      const torch::Tensor z = torch::randn({6, 9}, kF64), top = z.narrow(1, 7, 2);
      std::vector<torch::Tensor> terms;
      for (int64_t k = 0; k < 3; ++k)
        terms.push_back(log_normal_diag(top, means[k], logvars[k]) + log_weights[k]);
      const torch::Tensor brute = model->hierarchy()->log_conditional_prior(z) +
                                  torch::logsumexp(torch::stack(terms, 1), 1);
      EXPECT_LE((model->log_prior(z) - brute).abs().max().item<double>(), 1e-10)
          << name << " " << to_string(inference);
    }
  }
}

// With a learned top prior, the ELBO's KL terms still estimate
// E_q[log q(z|x) - log p(z)] without bias: the means of blocks of rows,
// against log q - log p at independent draws.
TEST(LatentHierarchy, KlTermsWithALearnedTopPriorAreUnbiased) {
  for (const char* name : {"mog", "vamp"}) {
    torch::manual_seed(10);
    VAE model(small_model(Inference::kBottomUp, {4, 2})
                  .prior(parse_prior(name))
                  .prior_components(3)
                  .pseudo_inputs(3));
    model->to(kF64);
    model->eval();
    torch::NoGradGuard no_grad;
    // The top layer's q shifted and narrowed, so that the VampPrior (whose
    // components are such q) is far from N(0, I).
    model->named_parameters()["hierarchy.up.0.2.bias"].add_(
        torch::tensor({1.0, 1.0, -2.0, -2.0}, kF64));
    const int64_t blocks = 200, rows = 100;
    const torch::Tensor x = torch::rand({1, 1, 4, 4}, kF64).expand({rows, 1, 4, 4});
    std::vector<double> kl, mc, standard;
    for (int64_t b = 0; b < blocks; ++b) {
      const torch::Tensor eps = torch::randn({rows, 6}, kF64);
      kl.push_back(model->elbo_sums(x, eps).kl_per_dim.sum().item<double>() / rows);
      // The top layer's KL to N(0, I) alone, which the learned prior's part
      // corrects: the test must tell them apart.
      standard.push_back(model->hierarchy()
                             ->draw(model->encoder->forward(x), eps)
                             .kl.sum(1)
                             .mean()
                             .item<double>());
      const PosteriorDraw draw =
          model->encode(x)->rsample_with_log_prob(torch::randn({rows, 6}, kF64));
      mc.push_back((draw.log_q - model->log_prior(draw.z)).mean().item<double>());
    }
    const torch::Tensor a = torch::tensor(kl, kF64), b = torch::tensor(mc, kF64);
    const double se = std::sqrt((a.var() / blocks + b.var() / blocks).item<double>());
    EXPECT_LT(std::abs((a.mean() - b.mean()).item<double>()), 4 * se) << name << " se " << se;
    EXPECT_GT(
        std::abs(torch::tensor(standard, kF64).mean().item<double>() - b.mean().item<double>()),
        10 * se)
        << name;
  }
}

TEST(LatentHierarchy, GradientsReachEveryLayersNetworks) {
  for (Inference inference : {Inference::kBottomUp, Inference::kLadder}) {
    torch::manual_seed(6);
    VAE model(small_model(inference, {4, 2}).prior(parse_prior("vamp")).pseudo_inputs(3));
    model->elbo(torch::rand({8, 1, 4, 4})).loss.backward();
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key() << " " << to_string(inference);
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0)
          << p.key() << " " << to_string(inference);
    }
    EXPECT_TRUE(model->named_parameters().contains("hierarchy.up.0.0.weight"));
    EXPECT_TRUE(model->named_parameters().contains("hierarchy.down.0.2.bias"));
    EXPECT_TRUE(model->named_parameters().contains("prior.pseudo_inputs"));
  }
}

// Ancestral draws at temperature 0 are the conditional means from the top.
TEST(LatentHierarchy, GenerateDescendsThroughTheConditionalPriors) {
  torch::manual_seed(7);
  LatentHierarchy h(NetworkOptions{}.latent_layers(3).latent_dims({4, 3, 2}).latent_dim(4));
  const torch::Tensor top = torch::randn({5, 2});
  auto generator = at::detail::createCPUGenerator(1);
  const torch::Tensor z = h->generate(top, 0.0, generator);
  EXPECT_TRUE(torch::equal(z, h->descend(torch::cat({torch::zeros({5, 7}), top}, 1), 2)));
  EXPECT_TRUE(torch::equal(z.narrow(1, 7, 2), top));
  // At temperature 1 the lower layers vary, the top does not.
  const torch::Tensor w = h->generate(top, 1.0, generator);
  EXPECT_TRUE(torch::equal(w.narrow(1, 7, 2), top));
  EXPECT_FALSE(torch::equal(w.narrow(1, 0, 7), z.narrow(1, 0, 7)));
}

// (c) One layer with N(0, I): the plain VAE's modules and numbers exactly.
TEST(ProofLatentHierarchy, OneLayerIsThePlainVaeBitForBit) {
  const NetworkOptions plain = NetworkOptions{}.latent_dim(5).height(4).width(4).hidden({16});
  NetworkOptions one_layer = plain;
  one_layer.latent_layers(1).latent_dims({5});
  torch::manual_seed(8);
  VAE a(plain);
  torch::manual_seed(8);
  VAE b(one_layer);
  EXPECT_EQ(a->named_parameters().keys(), b->named_parameters().keys());
  EXPECT_TRUE(b->hierarchy().is_empty());
  const torch::Tensor x = torch::rand({6, 1, 4, 4}), eps = torch::randn({6, 5});
  const ElboSums sa = a->elbo_sums(x, eps), sb = b->elbo_sums(x, eps);
  EXPECT_TRUE(torch::equal(sa.recon, sb.recon));
  EXPECT_TRUE(torch::equal(sa.kl_per_dim, sb.kl_per_dim));
  EXPECT_TRUE(torch::equal(sa.stats, sb.stats));
}

}  // namespace
}  // namespace vae
