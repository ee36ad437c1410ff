#include "vae/model/network_options.h"

#include <numeric>
#include <string>

#include "vae/model/pixel_context.h"
#include "vae/runtime/error.h"

namespace vae {

std::vector<int64_t> NetworkOptions::layer_dims() const {
  return latent_layers() > 1 ? latent_dims() : std::vector<int64_t>{latent_dim()};
}

int64_t NetworkOptions::code_dim() const {
  const std::vector<int64_t> dims = layer_dims();
  return std::accumulate(dims.begin(), dims.end(), int64_t{0});
}

NetworkOptions NetworkOptions::top_layer() const {
  NetworkOptions top = *this;
  top.latent_dim(layer_dims().back());
  return top;
}

void NetworkOptions::validate() const {
  if (latent_dim() <= 0) throw Error("--latent-dim must be positive");
  validate_layers();
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
  prior()->validate(*this);
  arch()->validate(*this);
  if (likelihood()->has_scale() && !(sigma() > 0.0)) {
    throw Error("--sigma must be positive");
  }
  if (trials() < 1 || trials() > 255)
    throw Error("--trials must lie in 1..255 (the counts are stored in 8 bits), not " +
                std::to_string(trials()));
  if (autoregressive_kernel() != 0) {
    PixelContextOptions(in_channels(), autoregressive_kernel())
        .hidden(autoregressive_hidden())
        .gates_read_z(autoregressive_gates_read_z())
        .features(autoregressive_features())
        .feature_kernel(autoregressive_feature_kernel())
        .validate();
    // Drawing pixel by pixel reads the family one pixel at a time, which a
    // per-pixel scale would have to follow; not built.
    if (likelihood()->has_scale())
      throw Error(std::string("--autoregressive-kernel needs a likelihood without a scale, not ") +
                  likelihood()->name());
  } else if (autoregressive_hidden() != 0 || autoregressive_gates_read_z() ||
             autoregressive_features() != 0) {
    throw Error(std::string(autoregressive_hidden() != 0    ? "--autoregressive-hidden"
                            : autoregressive_gates_read_z() ? "--autoregressive-gates-read-z"
                                                            : "--autoregressive-features") +
                " needs --autoregressive-kernel K (the window it reads)");
  }
}

void NetworkOptions::validate_layers() const {
  const auto count = static_cast<int64_t>(latent_dims().size());
  if (latent_layers() < 1 || latent_layers() > 16)
    throw Error("--latent-layers must be 1 to 16, not " + std::to_string(latent_layers()));
  if (latent_layers() > 1 && count != latent_layers())
    throw Error("--latent-dims has " + std::to_string(count) + " size" + (count == 1 ? "" : "s") +
                "; --latent-layers " + std::to_string(latent_layers()) + " needs one per layer");
  if (latent_layers() == 1 && count > 1)
    throw Error("--latent-dims has " + std::to_string(count) + " sizes; give --latent-layers " +
                std::to_string(count) + " as well");
  for (int64_t d : latent_dims()) {
    if (d <= 0) throw Error("--latent-dims sizes must be positive");
  }
  if (count >= 1 && latent_dims().front() != latent_dim())
    throw Error("--latent-dim " + std::to_string(latent_dim()) +
                " contradicts the bottom layer's --latent-dims " +
                std::to_string(latent_dims().front()));
  for (int64_t h : layer_hidden()) {
    if (h <= 0) throw Error("--layer-hidden sizes must be positive");
  }
  if (latent_layers() == 1) return;
  if (std::string(posterior()->name()) != "diagonal-gaussian")
    throw Error(std::string("--latent-layers > 1 needs --posterior diagonal-gaussian (each "
                            "layer's q), not ") +
                posterior()->name());
  if (prior()->discrete())
    throw Error(std::string("--latent-layers > 1 needs a prior over Gaussian codes for its top "
                            "layer, not --prior ") +
                prior()->name());
}

}  // namespace vae
