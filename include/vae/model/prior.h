// The prior p(z): one interface, one file per prior under src/model/, one
// table of them (prior_table.cpp).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

struct NetworkOptions;

class Prior {
 public:
  virtual ~Prior() = default;
  virtual const char* name() const = 0;
  virtual std::string help() const = 0;

  // log p(z) summed over the last (latent) dimension: [..., D] -> [...].
  virtual torch::Tensor log_prob(const torch::Tensor& z, const NetworkOptions& options) const = 0;
  // n codes [n, latent] (float32, CPU) drawn from `generator`; temperature
  // scales the spread of a continuous prior (1: the prior itself).
  virtual torch::Tensor sample(int64_t n, const NetworkOptions& options, double temperature,
                               at::Generator& generator) const = 0;
  // TorchScript statements drawing `z` [n, self.latent_dim] for the
  // exported decoder's generate(n, seed) (8 spaces indented).
  virtual std::string script_sample(const NetworkOptions& options) const = 0;
  // True for N(0, I): posterior families with a closed-form KL to it use it.
  virtual bool standard_normal() const { return false; }
  // True for a prior over one-hot codes (the categorical posterior's).
  virtual bool discrete() const { return false; }
};

// The registered priors, in the order --help lists them.
const PartTable<Prior>& priors();
// A configuration refers to a registered prior by pointer.
using PriorRef = const Prior*;
PriorRef parse_prior(const std::string& name);
std::string to_string(PriorRef prior);

}  // namespace vae
