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

ElboTerms VAEImpl::elbo(const torch::Tensor& x, double beta, double free_bits) {
  const double batch = static_cast<double>(x.size(0));
  const Posterior q = encode(x);
  const torch::Tensor z = reparameterize(q.mu, q.logvar);
  const torch::Tensor output = decode(z);

  ElboTerms terms;
  terms.recon = decoder->log_likelihood_sum(x, output).neg() / batch;
  terms.kl_per_dim = kl_standard_normal(q.mu, q.logvar).mean(0);
  terms.kl = terms.kl_per_dim.sum();
  // Free bits (Kingma et al. 2016, eq. 15) per latent dimension.
  const torch::Tensor kl_objective =
      free_bits > 0.0 ? terms.kl_per_dim.clamp_min(free_bits).sum() : terms.kl;
  terms.loss = terms.recon + beta * kl_objective;
  return terms;
}

}  // namespace vae
