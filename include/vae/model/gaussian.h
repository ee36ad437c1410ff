// Diagonal-Gaussian pieces of the VAE objective (Kingma & Welling 2013,
// "Auto-Encoding Variational Bayes", sec. 2.4 and appendix B).
#pragma once

#include <torch/types.h>

namespace vae {

// z = mu + sigma * eps, eps ~ N(0, I), sigma = exp(logvar / 2): the
// reparameterization trick, so that gradients flow into mu and logvar.
torch::Tensor reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar);
// The same with the noise eps (shape of mu) given, e.g. rows of one draw made
// for a whole global batch that data-parallel ranks share.
torch::Tensor reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar,
                             const torch::Tensor& eps);

// KL(N(mu, sigma^2) || N(0, 1)) per element, in closed form (AEVB app. B):
//   0.5 * (mu^2 + sigma^2 - 1 - log sigma^2).
// Same shape as mu; sum over the last dimension for the KL of a latent vector.
torch::Tensor kl_standard_normal(const torch::Tensor& mu, const torch::Tensor& logvar);

// log N(z; mu, diag exp(logvar)), summed over the last dimension.
torch::Tensor log_normal_diag(const torch::Tensor& z, const torch::Tensor& mu,
                              const torch::Tensor& logvar);

// log sum_k w_k N(z; mu_k, diag exp(logvar_k)) for z [..., D], mu and logvar
// [K, D] and log_weights [K] (normalised): [...]. The squared distances come
// from [B, D] x [D, K] products, not from a [B, K, D] broadcast.
torch::Tensor log_normal_mixture(const torch::Tensor& z, const torch::Tensor& mu,
                                 const torch::Tensor& logvar, const torch::Tensor& log_weights);

// TorchScript statements drawing `z` [n, D] from the mixture held by
// self.prior_means, self.prior_logvars [K, D] and self.prior_logits [K]
// (8 spaces indented): the exported decoder's prior for both learned priors.
std::string gaussian_mixture_script_sample();

}  // namespace vae
