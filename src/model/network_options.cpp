#include "vae/model/network_options.h"

#include "vae/runtime/error.h"

namespace vae {

const NameTable<Architecture>& architectures() {
  static const NameTable<Architecture> table(
      "--arch", {{Architecture::kMlp, "mlp"}, {Architecture::kConv, "conv"}});
  return table;
}

Architecture parse_architecture(const std::string& name) {
  return architectures().parse(name);
}

std::string to_string(Architecture arch) {
  return architectures().name(arch);
}

void NetworkOptions::validate() const {
  if (latent_dim() <= 0) throw Error("--latent-dim must be positive");
  if (in_channels() <= 0 || height() <= 0 || width() <= 0)
    throw Error("image size must be positive");
  for (int64_t h : hidden()) {
    if (h <= 0) throw Error("--hidden sizes must be positive");
  }
  if (arch() == Architecture::kConv) {
    if (channels().empty()) throw Error("--channels needs at least one size for the conv model");
    for (int64_t c : channels()) {
      if (c <= 0) throw Error("--channels sizes must be positive");
    }
    const int64_t factor = int64_t{1} << channels().size();
    if (height() % factor != 0 || width() % factor != 0) {
      throw Error("the conv model halves the image " + std::to_string(channels().size()) +
                  " times, so its size must divide by " + std::to_string(factor) + "; " +
                  std::to_string(height()) + "x" + std::to_string(width()) + " does not");
    }
  }
  if (likelihood()->has_scale() && !(sigma() > 0.0)) {
    throw Error("--sigma must be positive");
  }
}

}  // namespace vae
