#include "vae/evaluation.h"

#include <torch/torch.h>

#include <limits>

#include "vae/diagnostics.h"
#include "vae/gaussian.h"

namespace vae {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor cpu = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return {cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel()};
}

}  // namespace

EvalResult evaluate(VAE& model, const Batcher& data, const EvalOptions& options) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();

  std::vector<torch::Tensor> mus, logvars;
  torch::Tensor recon_sum, kl_dim_sum;
  for (int64_t i = 0; i < data.num_batches(); ++i) {
    const torch::Tensor x = data.batch(i);
    const Posterior q = model->encode(x);
    const torch::Tensor output = model->decode(reparameterize(q.mu, q.logvar));
    const torch::Tensor recon = model->decoder->log_likelihood_sum(x, output).neg();
    const torch::Tensor kl_dim = kl_standard_normal(q.mu, q.logvar).sum(0);
    recon_sum = recon_sum.defined() ? recon_sum + recon : recon;
    kl_dim_sum = kl_dim_sum.defined() ? kl_dim_sum + kl_dim : kl_dim;
    mus.push_back(q.mu);
    logvars.push_back(q.logvar);
  }
  model->train(was_training);

  const double n = static_cast<double>(data.size());
  const torch::Tensor mu = torch::cat(mus).to(torch::kCPU);
  const torch::Tensor logvar = torch::cat(logvars).to(torch::kCPU);

  EvalResult result;
  result.recon = recon_sum.item<double>() / n;
  result.kl_per_dim = to_vector(kl_dim_sum / n);
  for (double v : result.kl_per_dim)
    result.kl += v;
  result.neg_elbo = result.recon + result.kl;
  const torch::Tensor variance = posterior_mean_variance(mu);
  result.mean_variance = to_vector(variance);
  result.active_units = variance.gt(options.active_threshold).sum().item<int64_t>();
  result.mutual_info = options.mutual_info ? mutual_information(mu, logvar)
                                           : std::numeric_limits<double>::quiet_NaN();
  return result;
}

}  // namespace vae
