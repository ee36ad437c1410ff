// Which bound training maximises.
#pragma once

#include "vae/runtime/name_table.h"

namespace vae {

// elbo: the (annealed) ELBO; iwae: the importance-weighted bound L_k with
// k = iw_samples (Burda et al. 2015), which has no KL weight.
enum class Objective { kElbo, kIwae };
const NameTable<Objective>& objectives();

}  // namespace vae
