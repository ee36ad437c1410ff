// The decoder's observation model p(x|z) and its log density per image.
#pragma once

#include <torch/types.h>

#include <string>

namespace vae {

// bernoulli: the decoder emits logits. Grey levels in [0, 1] enter the
// cross-entropy as soft targets, as in the PyTorch example; for non-binary x
// that is not a normalised density (Loaiza-Ganem & Cunningham 2019), so only
// binarized data give a true log-likelihood.
// gaussian: the decoder emits means (through a sigmoid, pixels live in
// [0, 1]) and the standard deviation is fixed or learned per pixel.
enum class Likelihood { kBernoulli, kGaussian };

Likelihood parse_likelihood(const std::string& name);
std::string to_string(Likelihood likelihood);

// log p(x | decoder output) summed over every pixel of each image: shape [N].
// `log_sigma` is used by the Gaussian only: a scalar or [C, H, W] tensor.
torch::Tensor log_likelihood(Likelihood likelihood, const torch::Tensor& x,
                             const torch::Tensor& output, const torch::Tensor& log_sigma);

// The same summed over the whole batch (a scalar), through the fused kernels
// (binary_cross_entropy_with_logits with sum reduction) for the training step.
torch::Tensor log_likelihood_sum(Likelihood likelihood, const torch::Tensor& x,
                                 const torch::Tensor& output, const torch::Tensor& log_sigma);

// The mean image E[x | decoder output], in [0, 1].
torch::Tensor likelihood_mean(Likelihood likelihood, const torch::Tensor& output);

}  // namespace vae
