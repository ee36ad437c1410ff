// The table of architectures. A new one is a file under src/model/ defining
// `const NetworkArchitecture& NAME_architecture()` and one entry in
// VAE_ARCHITECTURES below.
#include "vae/model/architecture.h"

namespace vae {

#define VAE_ARCHITECTURES(X) X(mlp) X(conv)

#define VAE_DECLARE(name) const NetworkArchitecture& name##_architecture();
VAE_ARCHITECTURES(VAE_DECLARE)
#undef VAE_DECLARE

const PartTable<NetworkArchitecture>& architectures() {
#define VAE_ENTRY(name) &name##_architecture(),
  static const PartTable<NetworkArchitecture> table("--arch", {VAE_ARCHITECTURES(VAE_ENTRY)});
#undef VAE_ENTRY
  return table;
}

ArchitectureRef parse_architecture(const std::string& name) {
  return &architectures().get(name);
}

std::string to_string(ArchitectureRef arch) {
  return arch->name();
}

}  // namespace vae
