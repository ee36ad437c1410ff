// TorchScript for a latent hierarchy (model/latent_hierarchy.h): the
// exported encoder's posterior methods over the whole code [z_1, .., z_L] and
// the decoder's ancestral sampling, the networks' weights registered on the
// modules.
#pragma once

#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

#include "vae/model/latent_hierarchy.h"

namespace vae {

struct HierarchyScript {
  std::string methods;                                    // 4 spaces indented
  std::vector<std::pair<std::string, std::string>> docs;  // model.json's words
};

// forward(x) -> (mu, logvar) [N, D] of every layer's q along the means;
// rsample_with_log_prob(x, eps [N, n, D]) -> (z [N, n, D], log q [N, n]);
// sample(x, n); log_prob(x, z); summary(x, n) -> {mu, sigma}; written
// against self.encode_stats(x).
HierarchyScript hierarchy_encoder_script(torch::jit::Module& module,
                                         const LatentHierarchyImpl& hierarchy);

// descend(top [n, d_L]) -> [n, D]: the layers below drawn from
// p(z_l|z_{l+1}) (torch's global generator, which generate() seeds);
// log_conditional_prior(z [..., D]) -> [...]: sum over l < L of
// log p(z_l|z_{l+1}), which with the top layer's prior gives log p(z).
std::string hierarchy_decoder_script(torch::jit::Module& module,
                                     const LatentHierarchyImpl& hierarchy);

}  // namespace vae
