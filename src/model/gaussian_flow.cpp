#include "gaussian_flow.h"

#include <torch/torch.h>

#include "gaussian_script.h"
#include "vae/model/gaussian.h"
#include "vae/runtime/error.h"

namespace vae {

torch::Tensor GaussianFlow::rsample(const torch::Tensor& eps) const {
  return flow(reparameterize(mu(), logvar(), eps), nullptr);
}

PosteriorDraw GaussianFlow::rsample_with_log_prob(const torch::Tensor& eps) const {
  const torch::Tensor z0 = reparameterize(mu(), logvar(), eps);
  torch::Tensor log_det;
  torch::Tensor z = flow(z0, &log_det);
  torch::Tensor log_q = log_normal_diag(z0, mu(), logvar());
  if (log_det.defined()) log_q = log_q - log_det;
  return {std::move(z), std::move(log_q)};
}

torch::Tensor GaussianFlow::log_prob(const torch::Tensor& z) const {
  torch::NoGradGuard no_grad;
  // This posterior with its stats laid against z's shape.
  const std::unique_ptr<Posterior> matched = with_stats(stats_for(z));
  const GaussianFlow& q = static_cast<const GaussianFlow&>(*matched);
  const torch::Tensor z0 = q.inverse(z.to(torch::kFloat64)).to(z.dtype());
  torch::Tensor log_det;
  q.flow(z0, &log_det);
  torch::Tensor log_q = log_normal_diag(z0, q.mu(), q.logvar());
  if (log_det.defined()) log_q = log_q - log_det;
  return log_q;
}

torch::Tensor GaussianFlow::stats_for(const torch::Tensor& z) const {
  if (z.dim() == stats_.dim()) return stats_;
  const int64_t n = stats_.size(0), p = stats_.size(-1);
  return stats_.unsqueeze(1).expand({n, z.size(1), p});
}

void accumulate(torch::Tensor* total, const torch::Tensor& term) {
  *total = total->defined() ? *total + term : term;
}

torch::Tensor GaussianFlow::kl_per_dim(const Prior& /*prior*/) const {
  return {};
}

torch::Tensor GaussianFlow::mean() const {
  return flow(mu(), nullptr);
}

std::unique_ptr<Posterior> GaussianFlow::expand(int64_t samples) const {
  const int64_t n = stats_.size(0), p = stats_.size(-1);
  return with_stats(stats_.unsqueeze(1).expand({n, samples, p}));
}

torch::Tensor GaussianFlowFamily::unit_means(const torch::Tensor& stats,
                                             const NetworkOptions& o) const {
  return stats.narrow(1, 0, o.latent_dim());
}

bool GaussianFlowFamily::closed_form_kl(const Prior& /*prior*/) const {
  return false;
}

std::vector<std::pair<std::string, torch::Tensor>> GaussianFlowFamily::columns(
    const Posterior& q, const NetworkOptions& /*options*/, int64_t samples) const {
  if (samples < 2) throw Error("--samples must be at least 2 to estimate a standard deviation");
  const torch::Tensor mean = q.mean();
  const torch::Tensor eps = torch::randn({mean.size(0), samples, q.noise_size()}, mean.options());
  const torch::Tensor z = q.expand(samples)->rsample(eps).to(torch::kCPU, torch::kFloat32);
  return {{"mean", z.mean(1).contiguous()}, {"std", z.std(1).contiguous()}};
}

PosteriorFamily::Script GaussianFlowFamily::script(
    const NetworkOptions& options, const std::shared_ptr<torch::nn::Module>& parameters) const {
  Script out;
  out.methods = gaussian_script_methods(flow_script(options, parameters, &out.parameters));
  out.docs = gaussian_script_docs(/*flow=*/true);
  return out;
}

}  // namespace vae
