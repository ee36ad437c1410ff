#include "vae/model/latent_hierarchy.h"

#include <torch/torch.h>

#include <cmath>
#include <utility>

#include "vae/model/gaussian.h"

namespace vae {
namespace {

// log N(z; mu, exp(logvar)) per element.
torch::Tensor log_normal_elements(const torch::Tensor& z, const torch::Tensor& mu,
                                  const torch::Tensor& logvar) {
  static const double kLog2Pi = std::log(2.0 * M_PI);
  return -0.5 * ((z - mu).pow(2) * torch::exp(-logvar) + logvar + kLog2Pi);
}

// KL(N(mq, exp(lq)) || N(mp, exp(lp))) per element.
torch::Tensor kl_normal_elements(const torch::Tensor& mq, const torch::Tensor& lq,
                                 const torch::Tensor& mp, const torch::Tensor& lp) {
  return 0.5 * (lp - lq + (torch::exp(lq) + (mq - mp).pow(2)) * torch::exp(-lp) - 1.0);
}

// The ladder's merge of the bottom-up Gaussian with p(z_l|z_{l+1}) by
// precision (Sønderby et al. 2016, eqs. 19-21), in log variances:
// logvar_q = -log(exp(-lu) + exp(-lp)).
std::pair<torch::Tensor, torch::Tensor> merge(const torch::Tensor& mu_up,
                                              const torch::Tensor& lv_up, const torch::Tensor& mu_p,
                                              const torch::Tensor& lv_p) {
  const torch::Tensor lv = -torch::logaddexp(-lv_up, -lv_p);
  const torch::Tensor mu = (mu_up * torch::exp(lv - lv_up) + mu_p * torch::exp(lv - lv_p));
  return {mu, lv};
}

// in -> [Linear, Tanh]* -> Linear(2 out): a Gaussian's (mu, logvar).
torch::nn::Sequential conditional_net(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  torch::nn::Sequential net;
  for (int64_t h : hidden) {
    net->push_back(torch::nn::Linear(in, h));
    net->push_back(torch::nn::Tanh());
    in = h;
  }
  net->push_back(torch::nn::Linear(in, 2 * out));
  return net;
}

class HierarchicalPosterior final : public Posterior {
 public:
  HierarchicalPosterior(torch::Tensor stats, const LatentHierarchyImpl& hierarchy)
      : stats_(std::move(stats)), hierarchy_(hierarchy) {}

  torch::Tensor rsample(const torch::Tensor& eps) const override {
    return hierarchy_.draw(stats_, eps).z;
  }
  torch::Tensor log_prob(const torch::Tensor& z) const override {
    return hierarchy_.log_q(stats_, z);
  }
  PosteriorDraw rsample_with_log_prob(const torch::Tensor& eps) const override {
    HierarchyDraw draw = hierarchy_.draw(stats_, eps);
    return {std::move(draw.z), std::move(draw.log_q)};
  }
  // Part of the prior is the hierarchy's own, so the KL of the code is not
  // the Prior's closed form: the objectives use HierarchyDraw::kl or
  // log q - log p.
  torch::Tensor kl_per_dim(const Prior& /*prior*/) const override { return {}; }
  torch::Tensor mean() const override { return hierarchy_.mean_pass(stats_).first; }
  int64_t noise_size() const override { return hierarchy_.code_dim(); }
  std::unique_ptr<Posterior> expand(int64_t samples) const override {
    std::vector<int64_t> shape = stats_.sizes().vec();
    shape.insert(shape.begin() + 1, samples);
    return std::make_unique<HierarchicalPosterior>(stats_.unsqueeze(1).expand(shape), hierarchy_);
  }
  std::vector<torch::Tensor> outputs() const override {
    auto [mu, logvar] = hierarchy_.mean_pass(stats_);
    return {mu, logvar};
  }

 private:
  torch::Tensor stats_;
  const LatentHierarchyImpl& hierarchy_;
};

}  // namespace

LatentHierarchyImpl::LatentHierarchyImpl(NetworkOptions options)
    : options_(std::move(options)), dims_(options_.layer_dims()) {
  up_ = register_module("up", torch::nn::ModuleList());
  down_ = register_module("down", torch::nn::ModuleList());
  const bool ladder = options_.inference() == Inference::kLadder;
  for (size_t l = 0; l + 1 < dims_.size(); ++l) {
    // Bottom-up reads the draw z_l; the ladder the deterministic h_l, a
    // Gaussian's two halves.
    up_->push_back(
        conditional_net((ladder ? 2 : 1) * dims_[l], options_.layer_hidden(), dims_[l + 1]));
    down_->push_back(conditional_net(dims_[l + 1], options_.layer_hidden(), dims_[l]));
  }
}

std::vector<torch::Tensor> LatentHierarchyImpl::split(const torch::Tensor& z) const {
  return z.split_with_sizes(dims_, -1);
}

std::pair<torch::Tensor, torch::Tensor> LatentHierarchyImpl::gaussian(const torch::Tensor& out) {
  auto halves = out.chunk(2, -1);
  return {halves[0], halves[1]};
}

std::pair<torch::Tensor, torch::Tensor> LatentHierarchyImpl::up_stats(
    int64_t layer, const torch::Tensor& in) const {
  return gaussian(up_->ptr<torch::nn::SequentialImpl>(layer - 1)->forward(in));
}

std::pair<torch::Tensor, torch::Tensor> LatentHierarchyImpl::down_stats(
    int64_t layer, const torch::Tensor& above) const {
  return gaussian(down_->ptr<torch::nn::SequentialImpl>(layer)->forward(above));
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> LatentHierarchyImpl::ladder_up(
    const torch::Tensor& stats) const {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out{gaussian(stats)};
  torch::Tensor h = stats;
  for (size_t l = 1; l < dims_.size(); ++l) {
    h = up_->ptr<torch::nn::SequentialImpl>(l - 1)->forward(h);
    out.push_back(gaussian(h));
  }
  return out;
}

HierarchyDraw LatentHierarchyImpl::draw(const torch::Tensor& stats,
                                        const torch::Tensor& eps) const {
  const auto L = static_cast<int64_t>(dims_.size());
  const std::vector<torch::Tensor> noise = split(eps);
  std::vector<torch::Tensor> z(L), kl(L);
  torch::Tensor log_q;
  const auto add = [&log_q](const torch::Tensor& t) { log_q = log_q.defined() ? log_q + t : t; };
  if (options_.inference() == Inference::kBottomUp) {
    // Up: z_l ~ q(z_l|z_{l-1}); keep each layer's q for its KL term.
    std::vector<std::pair<torch::Tensor, torch::Tensor>> q(L);
    q[0] = gaussian(stats);
    for (int64_t l = 0; l < L; ++l) {
      if (l > 0) q[l] = up_stats(l, z[l - 1]);
      z[l] = reparameterize(q[l].first, q[l].second, noise[l]);
      add(log_normal_diag(z[l], q[l].first, q[l].second));
    }
    // The top layer's KL to N(0, I) in closed form given z_{L-1}; below it,
    // z_{l+1} depends on z_l, so log q - log p at the draw.
    kl[L - 1] = kl_standard_normal(q[L - 1].first, q[L - 1].second);
    for (int64_t l = 0; l + 1 < L; ++l) {
      auto [mu_p, lv_p] = down_stats(l, z[l + 1]);
      kl[l] = log_normal_elements(z[l], q[l].first, q[l].second) -
              log_normal_elements(z[l], mu_p, lv_p);
    }
  } else {
    // Down: every layer's q and p are Gaussians given the draw above, so
    // every KL term is in closed form.
    const auto up = ladder_up(stats);
    z[L - 1] = reparameterize(up[L - 1].first, up[L - 1].second, noise[L - 1]);
    add(log_normal_diag(z[L - 1], up[L - 1].first, up[L - 1].second));
    kl[L - 1] = kl_standard_normal(up[L - 1].first, up[L - 1].second);
    for (int64_t l = L - 2; l >= 0; --l) {
      auto [mu_p, lv_p] = down_stats(l, z[l + 1]);
      auto [mu_q, lv_q] = merge(up[l].first, up[l].second, mu_p, lv_p);
      z[l] = reparameterize(mu_q, lv_q, noise[l]);
      add(log_normal_diag(z[l], mu_q, lv_q));
      kl[l] = kl_normal_elements(mu_q, lv_q, mu_p, lv_p);
    }
  }
  return {torch::cat(z, -1), log_q, torch::cat(kl, -1)};
}

torch::Tensor LatentHierarchyImpl::log_q(const torch::Tensor& stats,
                                         const torch::Tensor& code) const {
  const auto L = static_cast<int64_t>(dims_.size());
  const std::vector<torch::Tensor> z = split(code);
  torch::Tensor out;
  const auto add = [&out](const torch::Tensor& t) { out = out.defined() ? out + t : t; };
  if (options_.inference() == Inference::kBottomUp) {
    auto [mu, lv] = gaussian(stats);
    add(log_normal_diag(z[0], mu, lv));
    for (int64_t l = 1; l < L; ++l) {
      auto [mu_l, lv_l] = up_stats(l, z[l - 1]);
      add(log_normal_diag(z[l], mu_l, lv_l));
    }
  } else {
    const auto up = ladder_up(stats);
    add(log_normal_diag(z[L - 1], up[L - 1].first, up[L - 1].second));
    for (int64_t l = L - 2; l >= 0; --l) {
      auto [mu_p, lv_p] = down_stats(l, z[l + 1]);
      auto [mu_q, lv_q] = merge(up[l].first, up[l].second, mu_p, lv_p);
      add(log_normal_diag(z[l], mu_q, lv_q));
    }
  }
  return out;
}

torch::Tensor LatentHierarchyImpl::log_conditional_prior(const torch::Tensor& code) const {
  const std::vector<torch::Tensor> z = split(code);
  torch::Tensor out = torch::zeros(code.sizes().slice(0, code.dim() - 1), code.options());
  for (size_t l = 0; l + 1 < z.size(); ++l) {
    auto [mu_p, lv_p] = down_stats(static_cast<int64_t>(l), z[l + 1]);
    out = out + log_normal_diag(z[l], mu_p, lv_p);
  }
  return out;
}

std::pair<torch::Tensor, torch::Tensor> LatentHierarchyImpl::mean_pass(
    const torch::Tensor& stats) const {
  const auto L = static_cast<int64_t>(dims_.size());
  std::vector<torch::Tensor> mu(L), lv(L);
  if (options_.inference() == Inference::kBottomUp) {
    std::tie(mu[0], lv[0]) = gaussian(stats);
    for (int64_t l = 1; l < L; ++l)
      std::tie(mu[l], lv[l]) = up_stats(l, mu[l - 1]);
  } else {
    const auto up = ladder_up(stats);
    std::tie(mu[L - 1], lv[L - 1]) = up[L - 1];
    for (int64_t l = L - 2; l >= 0; --l) {
      auto [mu_p, lv_p] = down_stats(l, mu[l + 1]);
      std::tie(mu[l], lv[l]) = merge(up[l].first, up[l].second, mu_p, lv_p);
    }
  }
  return {torch::cat(mu, -1), torch::cat(lv, -1)};
}

torch::Tensor LatentHierarchyImpl::generate(const torch::Tensor& top, double temperature,
                                            at::Generator& generator) const {
  const auto L = static_cast<int64_t>(dims_.size());
  std::vector<torch::Tensor> z(L);
  z[L - 1] = top;
  for (int64_t l = L - 2; l >= 0; --l) {
    auto [mu_p, lv_p] = down_stats(l, z[l + 1]);
    // Drawn on the CPU, where the generator lives.
    const torch::Tensor eps =
        at::randn(mu_p.sizes(), generator, mu_p.options().device(torch::kCPU)).to(mu_p.device());
    z[l] = mu_p + temperature * torch::exp(0.5 * lv_p) * eps;
  }
  return torch::cat(z, -1);
}

torch::Tensor LatentHierarchyImpl::descend(const torch::Tensor& code, int64_t layer) const {
  std::vector<torch::Tensor> z = split(code);
  for (int64_t l = layer - 1; l >= 0; --l)
    z[l] = down_stats(l, z[l + 1]).first;
  return torch::cat(z, -1);
}

std::unique_ptr<Posterior> hierarchical_posterior(const torch::Tensor& stats,
                                                  const LatentHierarchyImpl& hierarchy) {
  return std::make_unique<HierarchicalPosterior>(stats, hierarchy);
}

}  // namespace vae
