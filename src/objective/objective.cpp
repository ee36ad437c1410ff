#include "vae/objective/objective.h"

namespace vae {

const NameTable<Objective>& objectives() {
  static const NameTable<Objective> table(
      "--objective", {{Objective::kElbo, "elbo"}, {Objective::kIwae, "iwae", "Burda et al. 2015"}});
  return table;
}

}  // namespace vae
