// q(c|x) = prod_j Cat(c_j | pi_j(x)): N independent K-way categorical
// variables, the code z their N one-hot vectors [N K], trained through the
// Gumbel-softmax (Concrete) relaxation (Jang et al. 2017, "Categorical
// Reparameterization with Gumbel-Softmax", eq. 1; Maddison et al. 2017):
//   y_j = softmax((log pi_j + g_j) / tau),  g_jk ~ Gumbel(0, 1) i.i.d.
// With --gumbel-hard the forward pass uses one_hot(argmax y_j) and the
// gradient that of y_j (straight-through, Jang et al. sec. 2.2).
// Outside training (evaluation, pictures) draws are exact one-hot codes by
// the Gumbel-max trick, c_j = one_hot(argmax_k (log pi_jk + g_jk)), so that
// log q(c|x) = sum_j log pi_j[c_j] is the density of the draw and importance
// sampling bounds the discrete model's log p(x).
// KL to the uniform prior, per variable: sum_k pi_jk log pi_jk + log K.
//
// The seam's noise is standard normal: g = -log(-log Phi(eps)), log Phi by
// log_ndtr, accurate in both tails.
// stats [N, N_vars K] = the logits, variable-major.
#include <torch/torch.h>

#include <cmath>

#include "vae/model/network_options.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// The widest code (variables x categories) a configuration may ask for.
constexpr int64_t kMaxCode = int64_t{1} << 20;

// Gumbel(0, 1) noise from standard normal noise of the same shape.
torch::Tensor gumbel_from_normal(const torch::Tensor& eps) {
  return -torch::log(-torch::special::log_ndtr(eps));
}

class Categorical final : public Posterior {
 public:
  // logits [..., V K]; relaxed: Gumbel-softmax draws at temperature tau
  // (training), else exact one-hot draws.
  Categorical(torch::Tensor logits, int64_t vars, int64_t categories, double tau, bool hard,
              bool relaxed)
      : logits_(std::move(logits)),
        vars_(vars),
        k_(categories),
        tau_(tau),
        hard_(hard),
        relaxed_(relaxed) {}

  torch::Tensor rsample(const torch::Tensor& eps) const override {
    const torch::Tensor scores = log_pi() + grouped(gumbel_from_normal(eps));  // [..., V, K]
    if (!relaxed_) return flat(one_hot_argmax(scores));
    const torch::Tensor y = torch::softmax(scores / tau_, -1);
    if (!hard_) return flat(y);
    return flat(one_hot_argmax(y) - y.detach() + y);
  }
  // log q(c|x) of one-hot codes c [..., V K]; a relaxed draw has no
  // categorical density, so the objective uses the closed-form KL.
  torch::Tensor log_prob(const torch::Tensor& z) const override {
    return (grouped(z) * log_pi()).sum({-2, -1});
  }
  PosteriorDraw rsample_with_log_prob(const torch::Tensor& eps) const override {
    if (relaxed_) {
      throw Error(
          "--posterior categorical: a relaxed (Gumbel-softmax) draw has no categorical log q; "
          "training uses the closed-form KL and evaluation draws one-hot codes");
    }
    torch::Tensor z = rsample(eps);
    torch::Tensor log_q = log_prob(z);
    return {std::move(z), std::move(log_q)};
  }
  torch::Tensor kl_per_dim(const Prior& prior) const override {
    if (!prior.discrete()) return {};
    const torch::Tensor lp = log_pi();
    return (lp.exp() * lp).sum(-1) + std::log(static_cast<double>(k_));  // [..., V]
  }
  torch::Tensor mean() const override { return flat(torch::softmax(grouped(logits_), -1)); }
  int64_t noise_size() const override { return vars_ * k_; }
  std::unique_ptr<Posterior> expand(int64_t samples) const override {
    const int64_t n = logits_.size(0), p = logits_.size(-1);
    return std::make_unique<Categorical>(logits_.unsqueeze(1).expand({n, samples, p}), vars_, k_,
                                         tau_, hard_, relaxed_);
  }
  std::vector<torch::Tensor> outputs() const override { return {logits_}; }

 private:
  torch::Tensor grouped(const torch::Tensor& t) const {
    std::vector<int64_t> shape = t.sizes().vec();
    shape.back() = vars_;
    shape.push_back(k_);
    return t.reshape(shape);
  }
  static torch::Tensor flat(const torch::Tensor& t) { return t.flatten(-2); }
  torch::Tensor log_pi() const { return torch::log_softmax(grouped(logits_), -1); }
  torch::Tensor one_hot_argmax(const torch::Tensor& scores) const {
    return torch::one_hot(scores.argmax(-1), k_).to(scores.dtype());
  }

  torch::Tensor logits_;
  int64_t vars_, k_;
  double tau_;
  bool hard_, relaxed_;
};

class CategoricalFamily final : public PosteriorFamily {
 public:
  const char* name() const override { return "categorical"; }
  std::string help() const override {
    return "--categorical-vars one-hot variables of --categories each, Gumbel-softmax "
           "(Jang et al. 2017)";
  }
  int64_t stats_size(const NetworkOptions& o) const override { return fixed_latent_dim(o); }
  int64_t noise_size(const NetworkOptions& o) const override { return fixed_latent_dim(o); }
  // The relaxation's temperature, set by the trainer before each step
  // (VAEImpl::set_temperature) and saved with the model.
  std::shared_ptr<torch::nn::Module> make_parameters(const NetworkOptions& /*o*/) const override {
    auto module = std::make_shared<torch::nn::Module>("GumbelSoftmax");
    module->register_buffer("temperature", torch::ones({}, torch::kFloat64));
    return module;
  }
  std::unique_ptr<Posterior> read(
      const torch::Tensor& stats, const NetworkOptions& o,
      const std::shared_ptr<torch::nn::Module>& parameters) const override {
    // Relaxed draws only while training; without the module (a bare read)
    // exact draws.
    const bool relaxed = parameters != nullptr && parameters->is_training();
    const double tau =
        relaxed ? parameters->named_buffers(false)["temperature"].item<double>() : 1.0;
    return std::make_unique<Categorical>(stats, o.categorical_vars(), o.categories(), tau,
                                         o.gumbel_hard(), relaxed);
  }
  // The category probabilities [n, V K].
  torch::Tensor unit_means(const torch::Tensor& stats, const NetworkOptions& o) const override {
    return torch::softmax(stats.reshape({stats.size(0), o.categorical_vars(), o.categories()}), -1)
        .flatten(1);
  }
  bool closed_form_kl(const Prior& prior) const override { return prior.discrete(); }
  const char* default_prior() const override { return "uniform-categorical"; }
  bool accepts(const Prior& prior) const override { return prior.discrete(); }
  // 0 (no fixed width) for sizes validate() refuses, so that no product
  // overflows before it runs.
  int64_t fixed_latent_dim(const NetworkOptions& o) const override {
    const int64_t v = o.categorical_vars(), k = o.categories();
    return v >= 1 && k >= 1 && v <= kMaxCode && k <= kMaxCode / v ? v * k : 0;
  }
  bool relaxed() const override { return true; }

  int64_t units(const NetworkOptions& o) const override { return o.categorical_vars(); }
  bool coordinate_units() const override { return false; }
  // I(x; c_j) = H(E_x pi_j(x)) - E_x H(pi_j(x)) of the data set taken as
  // the empirical distribution of x: exact, per variable [V].
  torch::Tensor unit_mutual_information(const torch::Tensor& stats,
                                        const NetworkOptions& o) const override {
    const torch::Tensor log_pi = torch::log_softmax(
        stats.to(torch::kFloat64).reshape({stats.size(0), o.categorical_vars(), o.categories()}),
        -1);
    const torch::Tensor pi = log_pi.exp();
    const torch::Tensor conditional = -(pi * log_pi).sum(-1).mean(0);  // E_x H(pi_j(x)) [V]
    const torch::Tensor marginal_pi = pi.mean(0);                      // [V, K]
    const torch::Tensor marginal =
        -(marginal_pi * marginal_pi.clamp_min(1e-300).log()).sum(-1);  // H(E_x pi_j) [V]
    return (marginal - conditional).clamp_min(0.0);
  }
  // Each variable of `order` set to each category, the others at the
  // image's most probable categories.
  torch::Tensor unit_values(const torch::Tensor& code, const std::vector<int64_t>& order,
                            const NetworkOptions& o) const override {
    const int64_t v = o.categorical_vars(), k = o.categories();
    const torch::Tensor base =
        torch::one_hot(code.to(torch::kFloat32).reshape({v, k}).argmax(-1), k).to(torch::kFloat32);
    std::vector<torch::Tensor> rows;
    for (int64_t j : order) {
      torch::Tensor row = base.unsqueeze(0).repeat({k, 1, 1});  // [K, V, K]
      row.select(1, j).copy_(torch::eye(k));
      rows.push_back(row.reshape({k, v * k}));
    }
    return torch::cat(rows);
  }

  // Each variable's category [..., V] of one-hot codes [..., V K].
  torch::Tensor calibration_values(const torch::Tensor& z, const NetworkOptions& o) const override {
    std::vector<int64_t> shape = z.sizes().vec();
    shape.back() = o.categorical_vars();
    shape.push_back(o.categories());
    return z.reshape(shape).argmax(-1).to(torch::kFloat64);
  }
  // The category probabilities [N, V K] (the mean code) and each
  // variable's most probable category [N, V].
  std::vector<std::pair<std::string, torch::Tensor>> columns(const Posterior& q,
                                                             const NetworkOptions& o,
                                                             int64_t /*samples*/) const override {
    const torch::Tensor p = q.mean().to(torch::kCPU, torch::kFloat32);  // [N, V K]
    const torch::Tensor category =
        p.view({p.size(0), o.categorical_vars(), o.categories()}).argmax(-1).to(torch::kFloat32);
    return {{"p", p.contiguous()}, {"category", category.contiguous()}};
  }
  Script script(const NetworkOptions& o,
                const std::shared_ptr<torch::nn::Module>& /*parameters*/) const override {
    const std::string v = std::to_string(o.categorical_vars()), k = std::to_string(o.categories());
    Script out;
    out.methods = R"(
    def forward(self, x):
        return (self.encode_stats(x),)

    def log_pi(self, x):
        stats = self.encode_stats(x)
        return torch.log_softmax(stats.reshape([stats.size(0), 1, )" +
                  v + ", " + k + R"(]), -1)

    def rsample_with_log_prob(self, x, eps):
        lp = self.log_pi(x)
        g = -torch.log(-torch.special_log_ndtr(eps.reshape([eps.size(0), eps.size(1), )" +
                  v + ", " + k + R"(])))
        c = torch.one_hot((lp + g).argmax(-1), )" +
                  k + R"().to(lp.dtype)
        return (c.flatten(-2), (c * lp).sum([-2, -1]))

    def sample(self, x, n: int, tau: float = 0.0, hard: bool = True):
        lp = self.log_pi(x)
        eps = torch.randn([lp.size(0), n, )" +
                  v + " * " + k + R"(], dtype=lp.dtype, device=lp.device)
        if tau <= 0.0:
            return self.rsample_with_log_prob(x, eps)[0]
        g = -torch.log(-torch.special_log_ndtr(eps.reshape([lp.size(0), n, )" +
                  v + ", " + k + R"(])))
        y = torch.softmax((lp + g) / tau, -1)
        if hard:
            y = torch.one_hot(y.argmax(-1), )" +
                  k + R"().to(y.dtype) - y.detach() + y
        return y.flatten(-2)

    def log_prob(self, x, z):
        lp = self.log_pi(x)
        return (z.reshape([z.size(0), z.size(1), )" +
                  v + ", " + k + R"(]) * lp).sum([-2, -1])

    def summary(self, x, n: int) -> Dict[str, Tensor]:
        p = self.log_pi(x).squeeze(1).exp()
        return {"p": p.flatten(-2), "category": p.argmax(-1).to(p.dtype)}
)";
    out.docs = {
        {"forward", "x [N, C, H, W] or [N, C*H*W] -> (logits [N, " + v + "*" + k +
                        "],): variable j's logits are columns j*" + k + " .. j*" + k + "+" + k +
                        "-1"},
        {"sample", "sample(x, n, tau=0.0, hard=True) -> [N, n, " + v + "*" + k +
                       "]: tau = 0 exact one-hot draws; tau > 0 Gumbel-softmax draws at that "
                       "temperature (hard: straight-through one-hot)"},
        {"rsample_with_log_prob", "rsample_with_log_prob(x, eps [N, n, " + v + "*" + k +
                                      "] standard normal) -> (one-hot z [N, n, " + v + "*" + k +
                                      "], log q(z|x) [N, n]) by the Gumbel-max trick"},
        {"log_prob", "log_prob(x, z one-hot [N, n, " + v + "*" + k + "]) -> log q(z|x) [N, n]"},
        {"summary", "summary(x, n) -> {p [N, " + v + "*" + k +
                        "] category probabilities, category [N, " + v +
                        "] most probable category of each variable} (n unused)"}};
    return out;
  }
  std::vector<std::string> output_names() const override { return {"logits"}; }
};

}  // namespace

const PosteriorFamily& categorical_posterior() {
  static const CategoricalFamily family;
  return family;
}

}  // namespace vae
