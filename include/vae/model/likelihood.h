// The decoder's observation model p(x|z): one interface, one file per
// family under src/model/, one table of them (likelihood_table.cpp). The
// decoder emits an unconstrained `output` per pixel ([N, C, H, W]: logits or
// pre-sigmoid means); a family reads it as a distribution over grey levels.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

class LikelihoodFamily {
 public:
  virtual ~LikelihoodFamily() = default;
  virtual const char* name() const = 0;
  virtual std::string help() const = 0;

  // True when the family has a per-pixel scale: the decoder then holds
  // log sigma (--sigma, --learn-sigma) and passes it to the functions below.
  virtual bool has_scale() const { return false; }
  // True when the density is normalised for binary x only: grey-level data
  // then give a cross-entropy, not a log-likelihood, and evaluation
  // binarizes the test set.
  virtual bool binary_data() const { return false; }

  // log p(x | output) summed over the pixels of each image: [N].
  // `log_sigma`: a scalar or [C, H, W]; undefined unless has_scale().
  virtual torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                                 const torch::Tensor& log_sigma) const = 0;
  // The same summed over the batch (a scalar), for the training step.
  virtual torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                                     const torch::Tensor& log_sigma) const {
    return log_prob(x, output, log_sigma).sum();
  }
  // The mean image E[x | output], in [0, 1].
  virtual torch::Tensor mean(const torch::Tensor& output) const = 0;
  // One draw x ~ p(x | output) from `generator` (CPU tensors).
  virtual torch::Tensor sample(const torch::Tensor& output, const torch::Tensor& log_sigma,
                               at::Generator& generator) const = 0;
  // TorchScript statements that turn the decoder output `h` into the mean
  // image `h` (the exported decoder's last lines, 8 spaces indented).
  virtual std::string script_mean() const = 0;
};

// A configuration refers to a registered family by pointer.
using LikelihoodRef = const LikelihoodFamily*;

// The registered families, in the order --help lists them.
const PartTable<LikelihoodFamily>& likelihoods();
// Throws vae::Error listing the valid names.
LikelihoodRef parse_likelihood(const std::string& name);
std::string to_string(LikelihoodRef likelihood);

}  // namespace vae
