// Importance-weighted estimates of log p(x) (Burda et al. 2015, "Importance
// Weighted Autoencoders", eq. 8):
//   log p(x) >= L_k = E[ log (1/k) sum_j w_j ],  w_j = p(x, z_j) / q(z_j | x),
//   z_j ~ q(z|x) independently.
// L_1 is the ELBO, L_k does not decrease with k, and L_k -> log p(x) as
// k -> infinity. The k samples are drawn and scored in chunks so that memory
// stays bounded whatever k is; the log-mean-exp is taken stably.
#pragma once

#include <torch/types.h>

#include <functional>

#include "vae/model/vae_model.h"

namespace vae {

// log p(x, z) for data x_rep [M, ...] and codes z [M, D] -> [M].
using LogJoint = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& z)>;

// log p(x, z) for data x [N, ...] and `copies` codes per data point, z
// [N * copies, D] (data point i's in rows i * copies .. i * copies + copies
// - 1) -> [N * copies]: a joint that computes what reads x alone once.
using LogJointOfCopies =
    std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& z, int64_t copies)>;

// The VAE's joint: log p(x|z) (the decoder's likelihood) + log p(z) (its prior).
LogJoint vae_log_joint(VAE& model);
// The same, with the decoder's autoregressive window computed once per image
// (DecoderImpl::log_likelihood_of_copies).
LogJointOfCopies vae_log_joint_of_copies(VAE& model);

// log w [N, k] for data x [N, ...] with proposal q(z|x), drawing at most
// `max_rows` codes per call of `log_joint`. `eps` [N, k, noise], when given,
// is the standard normal noise of the k codes (otherwise drawn here).
torch::Tensor log_importance_weights(const torch::Tensor& x, const Posterior& q, int64_t k,
                                     const LogJoint& log_joint, int64_t max_rows = 8192,
                                     const torch::Tensor& eps = {});
torch::Tensor log_importance_weights(const torch::Tensor& x, const Posterior& q, int64_t k,
                                     const LogJointOfCopies& log_joint, int64_t max_rows = 8192,
                                     const torch::Tensor& eps = {});

// log (1/k) sum_j exp(log_w[:, j]) over the first k columns: the L_k estimate
// per data point [N].
torch::Tensor log_mean_exp(const torch::Tensor& log_w, int64_t k);

// The IWAE training objective (to minimise): -(1/batch) sum_i log (1/k)
// sum_j w_ij over the rows of x, with reparameterized samples so that
// gradients reach the encoder and decoder. batch = 0 means x.size(0); a
// data-parallel rank passes the global batch and its rows' noise eps
// [N, k, noise], so that the ranks' terms add up to the batch means (see
// elbo_terms). Also returns the KL and reconstruction of the samples, for
// reporting.
ElboTerms iwae_terms(VAE& model, const torch::Tensor& x, int64_t k, const torch::Tensor& eps = {},
                     int64_t batch = 0);

}  // namespace vae
