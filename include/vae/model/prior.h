// The prior p(z): one interface, one file per prior under src/model/, one
// table of them (prior_table.cpp).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vae/runtime/name_table.h"

namespace vae {

struct NetworkOptions;
class Posterior;

// What a prior reads besides z: the settings, its own parameters (the
// model's submodule "prior", from make_parameters; nullptr for a fixed
// prior) and the encoder's posterior of given images [K, C, H, W] (the
// VampPrior's mixture of the posteriors of its pseudo-inputs).
struct PriorContext {
  const NetworkOptions& options;
  std::shared_ptr<torch::nn::Module> parameters;
  std::function<std::unique_ptr<Posterior>(const torch::Tensor& x)> encode;
};

class Prior {
 public:
  virtual ~Prior() = default;
  virtual const char* name() const = 0;
  virtual std::string help() const = 0;

  // The prior's learned parameters (mixture components, pseudo-inputs);
  // nullptr (the default) for a fixed prior.
  virtual std::shared_ptr<torch::nn::Module> make_parameters(const NetworkOptions& options) const;
  // Throws vae::Error for settings the prior cannot serve.
  virtual void validate(const NetworkOptions& /*options*/) const {}

  // log p(z) summed over the last (latent) dimension: [..., D] -> [...].
  virtual torch::Tensor log_prob(const torch::Tensor& z, const PriorContext& context) const = 0;
  // n codes [n, latent] (float32, CPU) drawn from `generator`; temperature
  // scales the spread of a continuous prior (1: the prior itself).
  virtual torch::Tensor sample(int64_t n, const PriorContext& context, double temperature,
                               at::Generator& generator) const = 0;
  // TorchScript statements drawing `z` [n, self.latent_dim] for the
  // exported decoder's generate(n, seed) (8 spaces indented).
  virtual std::string script_sample(const NetworkOptions& options) const = 0;
  // The tensors script_sample reads as self.NAME (a learned prior's
  // parameters as trained; none by default).
  virtual std::vector<std::pair<std::string, torch::Tensor>> script_tensors(
      const PriorContext& context) const;
  // The VampPrior's pseudo-inputs as images [K, C, H, W] in [0, 1]; an
  // undefined tensor for other priors.
  virtual torch::Tensor pseudo_inputs(const PriorContext& /*context*/) const { return {}; }
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
