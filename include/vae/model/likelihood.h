// The decoder's observation model p(x|z): one interface, one file per
// family under src/model/, one table of them (likelihood_table.cpp). The
// decoder emits an unconstrained `output` per pixel ([N, C, H, W]: logits or
// pre-sigmoid means); a family reads it as a distribution over grey levels.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <string>
#include <utility>

#include "vae/runtime/name_table.h"

namespace vae {

// What a family reads besides the decoder output: the per-pixel log scale
// of the families with one (has_scale), and the number of trials of count
// families (binomial). From a tensor alone: that log scale.
struct LikelihoodParams {
  LikelihoodParams() = default;
  LikelihoodParams(torch::Tensor log_sigma, int64_t trials = 1)  // NOLINT: implicit on purpose
      : log_sigma(std::move(log_sigma)), trials(trials) {}
  torch::Tensor log_sigma;  // a scalar or [C, H, W]; undefined unless has_scale()
  int64_t trials = 1;
};

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

  // True for families of counts (x = k / 255 for k = 0, 1, ...), whose
  // log-likelihood is of the counts k.
  virtual bool counts() const { return false; }
  // The largest pixel value (0..255) the family can give probability: N for
  // binomial counts out of N trials.
  virtual int64_t max_value(const LikelihoodParams& /*params*/) const { return 255; }

  // log p(x | output) summed over the pixels of each image: [N].
  virtual torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                                 const LikelihoodParams& params) const = 0;
  // The same summed over the batch (a scalar), for the training step.
  virtual torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                                     const LikelihoodParams& params) const {
    return log_prob(x, output, params).sum();
  }
  // The mean image E[x | output] = mean(output) * mean_scale(params), in
  // the input's units (x in [0, 1]; counts k as k / 255).
  virtual torch::Tensor mean(const torch::Tensor& output) const = 0;
  virtual double mean_scale(const LikelihoodParams& /*params*/) const { return 1.0; }
  // One draw x ~ p(x | output) from `generator` (CPU tensors).
  virtual torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& params,
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
