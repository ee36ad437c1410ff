// The log joint log p(x|z) + log p(z) that `vae eval` and `vae score` weigh
// thousands of codes per image with (importance_sampling.h). It is
// vae_log_joint's value, computed faster on the CPU where it can be:
// - a fully connected decoder runs as MlpDecoderPass (the products on
//   oneDNN, block by block, the likelihood fused into the pass);
// - otherwise, for the Bernoulli likelihood, the decoder's modules give the
//   logits l and the sum over pixels log p(x|z) = sum_p x_p l_p - softplus(l_p)
//   is one vectorized pass (likelihood_rows.h) instead of LibTorch's three
//   kernels (its softplus is not vectorized in 1.13);
// - else the modules' log-likelihood.
// Training keeps the modules' log-likelihood: autograd needs it.
#pragma once

#include <torch/types.h>

#include "vae/model/vae_model.h"
#include "vae/objective/importance_sampling.h"

namespace vae {

// vae_log_joint(model), with the faster passes where they apply.
LogJoint evaluation_log_joint(VAE& model);

// sum_p x_p l_p - softplus(l_p) per row: x and logits [R, ...], float32 CPU
// tensors of one shape -> [R] float32. Terms agree with LibTorch's to 3e-7
// relative (tests/evaluation/test_fast_log_joint.cpp).
torch::Tensor bernoulli_log_prob_fused(const torch::Tensor& x, const torch::Tensor& logits);

}  // namespace vae
