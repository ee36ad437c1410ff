#include "vae/model/inference.h"

namespace vae {

const NameTable<Inference>& inferences() {
  static const NameTable<Inference> table(
      "--inference",
      {{Inference::kBottomUp, "bottom-up", "q(z_l|z_{l-1}), Burda et al. 2015"},
       {Inference::kLadder, "ladder", "top-down precision weighting, Sonderby et al. 2016"}});
  return table;
}

Inference parse_inference(const std::string& name) {
  return inferences().parse(name);
}

std::string to_string(Inference inference) {
  return inferences().name(inference);
}

}  // namespace vae
