// q(z|x) by a planar flow (Rezende & Mohamed 2015, "Variational Inference
// with Normalizing Flows", sec. 4.1): z_0 ~ N(mu(x), diag sigma(x)^2), then K
// maps
//   f_k(z) = z + u_k h(w_k^T z + b_k),  h = tanh,
//   log|det df_k/dz| = log|1 + h'(w_k^T z + b_k) u_k^T w_k|   (eq. 10-12),
// so that log q(z_K|x) = log q(z_0|x) - sum_k log|det df_k/dz| (eq. 7). The
// encoder emits every u_k, w_k, b_k per image (amortized, as in the paper's
// experiments). f_k is invertible when w^T u >= -1 (appendix A.1): u is
// replaced by u_hat = u + (m(w^T u) - w^T u) w / |w|^2, m(a) = -1 + log(1 + e^a).
//
// stats [N, 2D + K (2D + 1)] = [mu (D), logvar (D), then per step u (D), w (D), b (1)].
#include <torch/torch.h>

#include "vae/model/gaussian.h"
#include "vae/model/network_options.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// Added to |w|^2 so that w = 0 (the identity map) divides 0 by it, not by 0;
// it can lower w^T u_hat below -1 by at most 5e-7 |u|.
constexpr double kNormFloor = 1e-12;

class PlanarFlow final : public Posterior {
 public:
  // stats [N, P] or, after expand(S), [N, S, P].
  PlanarFlow(torch::Tensor stats, int64_t latent, int64_t steps)
      : stats_(std::move(stats)), d_(latent), steps_(steps) {}

  torch::Tensor rsample(const torch::Tensor& eps) const override {
    return flow(reparameterize(mu(), logvar(), eps), nullptr);
  }
  PosteriorDraw rsample_with_log_prob(const torch::Tensor& eps) const override {
    const torch::Tensor z0 = reparameterize(mu(), logvar(), eps);
    torch::Tensor log_det;
    torch::Tensor z = flow(z0, &log_det);
    return {std::move(z), log_normal_diag(z0, mu(), logvar()) - log_det};
  }
  torch::Tensor log_prob(const torch::Tensor& /*z*/) const override {
    throw Error(
        "--posterior planar: log q(z|x) is known only at the flow's own draws (the planar map "
        "has no closed-form inverse)");
  }
  torch::Tensor kl_per_dim(const Prior& /*prior*/) const override { return {}; }
  torch::Tensor mean() const override { return flow(mu(), nullptr); }
  int64_t noise_size() const override { return d_; }
  std::unique_ptr<Posterior> expand(int64_t samples) const override {
    const int64_t n = stats_.size(0), p = stats_.size(-1);
    return std::make_unique<PlanarFlow>(stats_.unsqueeze(1).expand({n, samples, p}), d_, steps_);
  }
  std::vector<torch::Tensor> outputs() const override { return {mu(), logvar()}; }

  // z [..., D] through the K maps; adds sum_k log|det df_k/dz| [...] to
  // *log_det when given.
  torch::Tensor flow(torch::Tensor z, torch::Tensor* log_det) const {
    for (int64_t k = 0; k < steps_; ++k) {
      const int64_t offset = 2 * d_ + k * (2 * d_ + 1);
      const torch::Tensor u = stats_.narrow(-1, offset, d_);          // [..., D]
      const torch::Tensor w = stats_.narrow(-1, offset + d_, d_);     // [..., D]
      const torch::Tensor b = stats_.narrow(-1, offset + 2 * d_, 1);  // [..., 1]
      const torch::Tensor wu = (w * u).sum(-1, /*keepdim=*/true);     // [..., 1]
      const torch::Tensor m = torch::softplus(wu) - 1.0;
      const torch::Tensor u_hat =
          u + (m - wu) * w / ((w * w).sum(-1, /*keepdim=*/true) + kNormFloor);
      const torch::Tensor h = torch::tanh((w * z).sum(-1, /*keepdim=*/true) + b);  // [..., 1]
      if (log_det != nullptr) {
        // psi(z)^T u_hat = h'(a) w^T u_hat, with h'(a) = 1 - tanh(a)^2 (eq. 11).
        const torch::Tensor psi_u = (1.0 - h * h) * (w * u_hat).sum(-1, /*keepdim=*/true);
        const torch::Tensor term = (1.0 + psi_u).abs().log().squeeze(-1);
        *log_det = log_det->defined() ? *log_det + term : term;
      }
      z = z + u_hat * h;
    }
    if (log_det != nullptr && !log_det->defined()) *log_det = torch::zeros_like(z.select(-1, 0));
    return z;
  }

 private:
  torch::Tensor mu() const { return stats_.narrow(-1, 0, d_); }
  torch::Tensor logvar() const { return stats_.narrow(-1, d_, d_); }

  torch::Tensor stats_;
  int64_t d_, steps_;
};

class PlanarFlowFamily final : public PosteriorFamily {
 public:
  const char* name() const override { return "planar"; }
  std::string help() const override {
    return "--flow-steps planar maps on the diagonal Gaussian (Rezende & Mohamed 2015)";
  }
  int64_t stats_size(const NetworkOptions& o) const override {
    return 2 * o.latent_dim() + o.flow_steps() * (2 * o.latent_dim() + 1);
  }
  int64_t noise_size(const NetworkOptions& o) const override { return o.latent_dim(); }
  std::unique_ptr<Posterior> read(
      const torch::Tensor& stats, const NetworkOptions& o,
      const std::shared_ptr<torch::nn::Module>& /*parameters*/) const override {
    return std::make_unique<PlanarFlow>(stats, o.latent_dim(), o.flow_steps());
  }
  torch::Tensor unit_means(const torch::Tensor& stats, const NetworkOptions& o) const override {
    return stats.narrow(1, 0, o.latent_dim());
  }
  bool closed_form_kl(const Prior& /*prior*/) const override { return false; }

  std::vector<std::pair<std::string, torch::Tensor>> columns(
      const std::vector<torch::Tensor>& /*outputs*/) const override {
    throw Error("encode: --posterior planar is not supported yet");
  }
  std::string script_forward() const override {
    throw Error("export: --posterior planar is not supported yet");
  }
  std::string script_sample() const override { return script_forward(); }
  std::vector<std::string> output_names() const override { return {"mu", "logvar"}; }
};

}  // namespace

const PosteriorFamily& planar_flow_posterior() {
  static const PlanarFlowFamily family;
  return family;
}

}  // namespace vae
