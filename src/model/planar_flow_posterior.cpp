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
// Halvings of the bracket of width 2 |w^T u_hat| when inverting a step: 2^-60
// of it is below float64's resolution.
constexpr int kBisections = 60;

class PlanarFlow final : public GaussianFlow {
 public:
  PlanarFlow(torch::Tensor stats, int64_t latent, int64_t steps)
      : GaussianFlow(std::move(stats), latent), steps_(steps) {}

  // Step k's map from the stats' maps [..., K (2D + 1)].
  struct Step {
    torch::Tensor u_hat, w, b;  // [..., D], [..., D], [..., 1]
  };
  Step step(const torch::Tensor& maps, int64_t k) const {
    const int64_t d = latent(), offset = k * (2 * d + 1);
    const torch::Tensor u = maps.narrow(-1, offset, d);
    const torch::Tensor w = maps.narrow(-1, offset + d, d);
    const torch::Tensor wu = (w * u).sum(-1, /*keepdim=*/true);  // [..., 1]
    const torch::Tensor m = torch::softplus(wu) - 1.0;
    return {u + (m - wu) * w / ((w * w).sum(-1, /*keepdim=*/true) + kNormFloor), w,
            maps.narrow(-1, offset + 2 * d, 1)};
  }

  torch::Tensor flow(torch::Tensor z, torch::Tensor* log_det) const override {
    const torch::Tensor maps = rest();
    for (int64_t k = 0; k < steps_; ++k) {
      const auto [u_hat, w, b] = step(maps, k);
      const torch::Tensor h = torch::tanh((w * z).sum(-1, /*keepdim=*/true) + b);  // [..., 1]
      if (log_det != nullptr) {
        // psi(z)^T u_hat = h'(a) w^T u_hat, with h'(a) = 1 - tanh(a)^2 (eq. 11).
        const torch::Tensor psi_u = (1.0 - h * h) * (w * u_hat).sum(-1, /*keepdim=*/true);
        accumulate(log_det, (1.0 + psi_u).abs().log().squeeze(-1));
      }
      z = z + u_hat * h;
    }
    return z;
  }
  // Step by step from the last: a = w^T z solves w^T y = a + w^T u_hat h(a + b),
  // increasing in a (w^T u_hat >= -1, 0 < h' <= 1) and within |w^T u_hat| of
  // w^T y, so bisection finds it; then z = y - u_hat h(a + b).
  torch::Tensor inverse(torch::Tensor y) const override {
    const torch::Tensor maps = rest().to(torch::kFloat64);
    for (int64_t k = steps_ - 1; k >= 0; --k) {
      const auto [u_hat, w, b] = step(maps, k);
      const torch::Tensor wy = (w * y).sum(-1, /*keepdim=*/true);
      const torch::Tensor slope = (w * u_hat).sum(-1, /*keepdim=*/true);
      torch::Tensor lo = wy - slope.abs(), hi = wy + slope.abs();
      for (int i = 0; i < kBisections; ++i) {
        const torch::Tensor mid = 0.5 * (lo + hi);
        const torch::Tensor above = (mid + slope * torch::tanh(mid + b)).gt(wy);
        hi = torch::where(above, mid, hi);
        lo = torch::where(above, lo, mid);
      }
      y = y - u_hat * torch::tanh(0.5 * (lo + hi) + b);
    }
    return y;
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
    const std::string steps = std::to_string(o.flow_steps());
    return R"(
    def step(self, stats, k: int) -> Tuple[Tensor, Tensor, Tensor]:
        D = self.latent_dim
        offset = 2 * D + k * (2 * D + 1)
        u = stats.narrow(-1, offset, D)
        w = stats.narrow(-1, offset + D, D)
        wu = (w * u).sum(-1, keepdim=True)
        m = torch.softplus(wu) - 1.0
        u_hat = u + (m - wu) * w / ((w * w).sum(-1, keepdim=True) + 1e-12)
        return (u_hat, w, stats.narrow(-1, offset + 2 * D, 1))

    def flow(self, stats, z):
        log_det = torch.zeros_like(z.select(-1, 0))
        for k in range()" +
           steps + R"():
            u_hat, w, b = self.step(stats, k)
            h = torch.tanh((w * z).sum(-1, keepdim=True) + b)
            psi_u = (1.0 - h * h) * (w * u_hat).sum(-1, keepdim=True)
            log_det = log_det + (1.0 + psi_u).abs().log().squeeze(-1)
            z = z + u_hat * h
        return (z, log_det)

    def inverse(self, stats, y):
        for j in range()" +
           steps + R"():
            u_hat, w, b = self.step(stats, )" +
           steps + R"( - 1 - j)
            wy = (w * y).sum(-1, keepdim=True)
            slope = (w * u_hat).sum(-1, keepdim=True)
            lo = wy - slope.abs()
            hi = wy + slope.abs()
            for i in range(60):
                mid = 0.5 * (lo + hi)
                above = (mid + slope * torch.tanh(mid + b)) > wy
                hi = torch.where(above, mid, hi)
                lo = torch.where(above, lo, mid)
            y = y - u_hat * torch.tanh(0.5 * (lo + hi) + b)
        return y
)";
  }
};

}  // namespace

const PosteriorFamily& planar_flow_posterior() {
  static const PlanarFlowFamily family;
  return family;
}

}  // namespace vae
