#include "vae/model/network_options.h"

#include <string>

#include "vae/runtime/error.h"

namespace vae {

void NetworkOptions::validate() const {
  if (latent_dim() <= 0) throw Error("--latent-dim must be positive");
  if (in_channels() <= 0 || height() <= 0 || width() <= 0)
    throw Error("image size must be positive");
  for (int64_t h : hidden()) {
    if (h <= 0) throw Error("--hidden sizes must be positive");
  }
  if (flow_steps() < 1)
    throw Error("--flow-steps must be at least 1, not " + std::to_string(flow_steps()));
  if (iaf_hidden() < 1)
    throw Error("--iaf-hidden must be at least 1, not " + std::to_string(iaf_hidden()));
  if (categorical_vars() < 1)
    throw Error("--categorical-vars must be at least 1, not " + std::to_string(categorical_vars()));
  if (categories() < 2)
    throw Error("--categories must be at least 2, not " + std::to_string(categories()));
  if (posterior()->relaxed() && posterior()->fixed_latent_dim(*this) == 0)
    throw Error("--categorical-vars x --categories must be at most 1048576");
  if (gumbel_hard() && !posterior()->relaxed())
    throw Error(std::string("--gumbel-hard needs --posterior categorical, not ") +
                posterior()->name());
  const int64_t fixed = posterior()->fixed_latent_dim(*this);
  if (fixed > 0 && latent_dim() != fixed)
    throw Error(std::string("--posterior ") + posterior()->name() + " has a code of " +
                std::to_string(fixed) + " dimensions (--categorical-vars x --categories), not " +
                "--latent-dim " + std::to_string(latent_dim()));
  if (!posterior()->accepts(*prior()))
    throw Error(std::string("--posterior ") + posterior()->name() +
                " cannot be used with --prior " + prior()->name() +
                " (its prior: " + posterior()->default_prior() + ")");
  arch()->validate(*this);
  if (likelihood()->has_scale() && !(sigma() > 0.0)) {
    throw Error("--sigma must be positive");
  }
}

}  // namespace vae
