// How q infers a hierarchy of latent layers z_1 (bottom) .. z_L (top): one
// name table (inference.cpp); the maths is in latent_hierarchy.h.
#pragma once

#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

enum class Inference {
  kBottomUp,  // q(z_1|x) q(z_2|z_1) .. q(z_L|z_{L-1}) (Burda et al. 2015)
  kLadder,    // a deterministic bottom-up pass, then top-down precision
              // weighting with p(z_l|z_{l+1}) (Sønderby et al. 2016)
};
const NameTable<Inference>& inferences();
Inference parse_inference(const std::string& name);
std::string to_string(Inference inference);

}  // namespace vae
