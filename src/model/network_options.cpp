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
  arch()->validate(*this);
  if (likelihood()->has_scale() && !(sigma() > 0.0)) {
    throw Error("--sigma must be positive");
  }
}

}  // namespace vae
