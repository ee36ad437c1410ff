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

#include "gaussian_flow.h"

namespace vae {
namespace {

// Added to |w|^2 so that w = 0 (the identity map) divides 0 by it, not by 0;
// it can lower w^T u_hat below -1 by at most 5e-7 |u|.
constexpr double kNormFloor = 1e-12;

class PlanarFlow final : public GaussianFlow {
 public:
  PlanarFlow(torch::Tensor stats, int64_t latent, int64_t steps)
      : GaussianFlow(std::move(stats), latent), steps_(steps) {}

  torch::Tensor flow(torch::Tensor z, torch::Tensor* log_det) const override {
    const int64_t d = latent();
    const torch::Tensor maps = rest();  // [..., K (2D + 1)]
    for (int64_t k = 0; k < steps_; ++k) {
      const int64_t offset = k * (2 * d + 1);
      const torch::Tensor u = maps.narrow(-1, offset, d);          // [..., D]
      const torch::Tensor w = maps.narrow(-1, offset + d, d);      // [..., D]
      const torch::Tensor b = maps.narrow(-1, offset + 2 * d, 1);  // [..., 1]
      const torch::Tensor wu = (w * u).sum(-1, /*keepdim=*/true);  // [..., 1]
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
    return z;
  }
  std::unique_ptr<Posterior> with_stats(torch::Tensor stats) const override {
    return std::make_unique<PlanarFlow>(std::move(stats), latent(), steps_);
  }
  std::string flag() const override { return "--posterior planar"; }

 private:
  int64_t steps_;
};

class PlanarFlowFamily final : public GaussianFlowFamily {
 public:
  const char* name() const override { return "planar"; }
  std::string help() const override {
    return "--flow-steps planar maps on the diagonal Gaussian (Rezende & Mohamed 2015)";
  }
  int64_t stats_size(const NetworkOptions& o) const override {
    return 2 * o.latent_dim() + o.flow_steps() * (2 * o.latent_dim() + 1);
  }
  std::unique_ptr<Posterior> read(
      const torch::Tensor& stats, const NetworkOptions& o,
      const std::shared_ptr<torch::nn::Module>& /*parameters*/) const override {
    return std::make_unique<PlanarFlow>(stats, o.latent_dim(), o.flow_steps());
  }

 protected:
  // PlanarFlow::flow in TorchScript, the same operations in the same order.
  std::string flow_script(
      const NetworkOptions& o, const std::shared_ptr<torch::nn::Module>& /*parameters*/,
      std::vector<std::pair<std::string, torch::Tensor>>* /*tensors*/) const override {
    return R"(
    def flow(self, stats, z):
        D = self.latent_dim
        log_det = torch.zeros_like(z.select(-1, 0))
        for k in range()" +
           std::to_string(o.flow_steps()) + R"():
            offset = 2 * D + k * (2 * D + 1)
            u = stats.narrow(-1, offset, D)
            w = stats.narrow(-1, offset + D, D)
            b = stats.narrow(-1, offset + 2 * D, 1)
            wu = (w * u).sum(-1, keepdim=True)
            m = torch.softplus(wu) - 1.0
            u_hat = u + (m - wu) * w / ((w * w).sum(-1, keepdim=True) + 1e-12)
            h = torch.tanh((w * z).sum(-1, keepdim=True) + b)
            psi_u = (1.0 - h * h) * (w * u_hat).sum(-1, keepdim=True)
            log_det = log_det + (1.0 + psi_u).abs().log().squeeze(-1)
            z = z + u_hat * h
        return (z, log_det)
)";
  }
};

}  // namespace

const PosteriorFamily& planar_flow_posterior() {
  static const PlanarFlowFamily family;
  return family;
}

}  // namespace vae
