// The table of priors. A new prior is a file under src/model/ defining
// `const Prior& NAME_prior()` and one entry in VAE_PRIORS below.
#include "vae/model/prior.h"

namespace vae {

#define VAE_PRIORS(X) X(standard_normal) X(uniform_categorical) X(mixture_of_gaussians) X(vamp)

#define VAE_DECLARE(name) const Prior& name##_prior();
VAE_PRIORS(VAE_DECLARE)
#undef VAE_DECLARE

const PartTable<Prior>& priors() {
#define VAE_ENTRY(name) &name##_prior(),
  static const PartTable<Prior> table("--prior", {VAE_PRIORS(VAE_ENTRY)});
#undef VAE_ENTRY
  return table;
}

PriorRef parse_prior(const std::string& name) {
  return &priors().get(name);
}

std::string to_string(PriorRef prior) {
  return prior->name();
}

std::vector<std::pair<std::string, torch::Tensor>> Prior::script_tensors(
    const PriorContext& /*context*/) const {
  return {};
}

std::shared_ptr<torch::nn::Module> Prior::make_parameters(const NetworkOptions& /*options*/) const {
  return nullptr;
}

}  // namespace vae
