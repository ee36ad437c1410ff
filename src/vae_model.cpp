#include "vae/vae_model.h"

#include <torch/torch.h>

#include "vae/gaussian.h"

namespace vae {

VAEImpl::VAEImpl(NetworkOptions options) : options_(std::move(options)) {
  encoder = register_module("encoder", Encoder(options_));
  decoder = register_module("decoder", Decoder(options_));
}

Posterior VAEImpl::encode(const torch::Tensor& x) {
  auto [mu, logvar] = encoder->forward(x);
  return {mu, logvar};
}

torch::Tensor VAEImpl::decode(const torch::Tensor& z) {
  return decoder->forward(z);
}

torch::Tensor VAEImpl::generate(const torch::Tensor& z) {
  return likelihood_mean(options_.likelihood(), decode(z));
}

ElboSums VAEImpl::elbo_sums(const torch::Tensor& x, const torch::Tensor& eps) {
  const Posterior q = encode(x);
  const torch::Tensor output = decode(reparameterize(q.mu, q.logvar, eps));
  return {decoder->log_likelihood_sum(x, output).neg(), kl_standard_normal(q.mu, q.logvar).sum(0)};
}

ElboTerms VAEImpl::elbo(const torch::Tensor& x, double beta, double free_bits) {
  const int64_t batch = x.size(0);
  const torch::Tensor eps =
      torch::randn({batch, options_.latent_dim()}, x.options().dtype(torch::kFloat32));
  const ElboSums sums = elbo_sums(x, eps);
  return elbo_terms(sums, batch, batch, beta, free_bits,
                    sums.kl_per_dim.detach() / static_cast<double>(batch));
}

ElboTerms elbo_terms(const ElboSums& sums, int64_t shard_rows, int64_t batch, double beta,
                     double free_bits, const torch::Tensor& batch_kl_per_dim) {
  const double b = static_cast<double>(batch);
  ElboTerms terms;
  terms.recon = sums.recon / b;
  terms.kl_per_dim = sums.kl_per_dim / b;
  terms.kl = terms.kl_per_dim.sum();
  torch::Tensor kl_objective = terms.kl;
  if (free_bits > 0.0) {
    // Free bits (Kingma et al. 2016, eq. 15): max(floor, KL_d) per dimension
    // of the batch-mean KL; the gradient passes where KL_d >= floor, as for
    // clamp_min.
    const torch::Tensor floor_share =
        torch::full_like(terms.kl_per_dim, free_bits * static_cast<double>(shard_rows) / b);
    kl_objective =
        torch::where(batch_kl_per_dim.ge(free_bits), terms.kl_per_dim, floor_share).sum();
  }
  terms.loss = terms.recon + beta * kl_objective;
  return terms;
}

}  // namespace vae
