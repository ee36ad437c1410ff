// The table of posterior families. A new family is a file under src/model/
// defining `const PosteriorFamily& NAME_posterior()` and one entry in
// VAE_POSTERIORS below.
#include <torch/torch.h>

#include <limits>

#include "vae/model/network_options.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"
#include "vae/runtime/error.h"

namespace vae {

#define VAE_POSTERIORS(X) X(diagonal_gaussian) X(planar_flow) X(iaf) X(categorical)

#define VAE_DECLARE(name) const PosteriorFamily& name##_posterior();
VAE_POSTERIORS(VAE_DECLARE)
#undef VAE_DECLARE

const PartTable<PosteriorFamily>& posteriors() {
#define VAE_ENTRY(name) &name##_posterior(),
  static const PartTable<PosteriorFamily> table("--posterior", {VAE_POSTERIORS(VAE_ENTRY)});
#undef VAE_ENTRY
  return table;
}

PosteriorRef parse_posterior(const std::string& name) {
  return &posteriors().get(name);
}

std::string to_string(PosteriorRef family) {
  return family->name();
}

PosteriorDraw Posterior::rsample_with_log_prob(const torch::Tensor& eps) const {
  torch::Tensor z = rsample(eps);
  torch::Tensor log_q = log_prob(z);
  return {std::move(z), std::move(log_q)};
}

std::shared_ptr<torch::nn::Module> PosteriorFamily::make_parameters(
    const NetworkOptions& /*options*/) const {
  return nullptr;
}

bool PosteriorFamily::accepts(const Prior& prior) const {
  return !prior.discrete();
}

int64_t PosteriorFamily::units(const NetworkOptions& options) const {
  return options.latent_dim();
}

torch::Tensor PosteriorFamily::unit_mutual_information(const torch::Tensor& /*stats*/,
                                                       const NetworkOptions& /*options*/) const {
  return {};
}

torch::Tensor PosteriorFamily::unit_values(const torch::Tensor& /*code*/,
                                           const std::vector<int64_t>& /*order*/,
                                           const NetworkOptions& /*options*/) const {
  throw Error(std::string("--posterior ") + name() + " has coordinate units: sweep them");
}

torch::Tensor PosteriorFamily::calibration_values(const torch::Tensor& z,
                                                  const NetworkOptions& /*options*/) const {
  return z.to(torch::kFloat64);
}

double PosteriorFamily::mutual_information(const torch::Tensor& /*stats*/,
                                           const WorkSplit& /*split*/) const {
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace vae
