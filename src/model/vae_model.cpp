#include "vae/model/vae_model.h"

#include <torch/torch.h>

namespace vae {

VAEImpl::VAEImpl(NetworkOptions options) : options_(std::move(options)) {
  encoder = register_module("encoder", Encoder(options_));
  decoder = register_module("decoder", Decoder(options_));
}

std::unique_ptr<Posterior> VAEImpl::encode(const torch::Tensor& x) {
  return posterior_family().read(encoder->forward(x));
}

torch::Tensor VAEImpl::decode(const torch::Tensor& z) {
  return decoder->forward(z);
}

torch::Tensor VAEImpl::generate(const torch::Tensor& z) {
  return likelihood().mean(decode(z));
}

ElboSums VAEImpl::elbo_sums(const torch::Tensor& x, const torch::Tensor& eps) {
  const torch::Tensor stats = encoder->forward(x);
  const std::unique_ptr<Posterior> q = posterior_family().read(stats);
  const torch::Tensor z = q->rsample(eps);
  const torch::Tensor recon = decoder->log_likelihood_sum(x, decode(z)).neg();
  torch::Tensor kl = q->kl_per_dim(prior());
  if (!kl.defined()) kl = (q->log_prob(z) - prior().log_prob(z)).unsqueeze(1);
  return {recon, kl.sum(0), stats};
}

ElboTerms VAEImpl::elbo(const torch::Tensor& x, double beta, double free_bits) {
  const int64_t batch = x.size(0);
  const torch::Tensor eps = torch::randn({batch, noise_size()}, x.options().dtype(torch::kFloat32));
  const ElboSums sums = elbo_sums(x, eps);
  return elbo_terms(sums, batch, batch, beta, free_bits,
                    sums.kl_per_dim.detach() / static_cast<double>(batch));
}

torch::Tensor free_bits_held(const torch::Tensor& batch_kl_per_dim, double free_bits) {
  return batch_kl_per_dim.lt(free_bits);
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
    // max(floor, KL_d) per dimension of the batch-mean KL; the gradient
    // passes where KL_d >= floor, as for clamp_min.
    const torch::Tensor floor_share =
        torch::full_like(terms.kl_per_dim, free_bits * static_cast<double>(shard_rows) / b);
    kl_objective =
        torch::where(free_bits_held(batch_kl_per_dim, free_bits), floor_share, terms.kl_per_dim)
            .sum();
  }
  terms.loss = terms.recon + beta * kl_objective;
  return terms;
}

}  // namespace vae
