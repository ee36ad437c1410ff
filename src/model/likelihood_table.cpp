// The table of observation models. A new family is a file under src/model/
// defining `const LikelihoodFamily& NAME_likelihood()` and one entry in
// VAE_LIKELIHOODS below.
#include "vae/model/likelihood.h"

namespace vae {

#define VAE_LIKELIHOODS(X) \
  X(bernoulli) X(gaussian) X(continuous_bernoulli) X(discretized_logistic) X(poisson) X(binomial)

#define VAE_DECLARE(name) const LikelihoodFamily& name##_likelihood();
VAE_LIKELIHOODS(VAE_DECLARE)
#undef VAE_DECLARE

const PartTable<LikelihoodFamily>& likelihoods() {
#define VAE_ENTRY(name) &name##_likelihood(),
  static const PartTable<LikelihoodFamily> table("--likelihood", {VAE_LIKELIHOODS(VAE_ENTRY)});
#undef VAE_ENTRY
  return table;
}

LikelihoodRef parse_likelihood(const std::string& name) {
  return &likelihoods().get(name);
}

std::string to_string(LikelihoodRef likelihood) {
  return likelihood->name();
}

}  // namespace vae
