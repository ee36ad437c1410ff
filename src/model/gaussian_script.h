// The exported encoder's methods for the Gaussian families (diagonal
// Gaussian and the flows on it): stats begin with mu (D) and logvar (D).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vae {

// TorchScript methods forward, rsample_with_log_prob, sample, log_prob and
// summary. `flow_methods`: the source of `def flow(self, stats, z)`
// returning (z_K, log|det dz_K/dz_0|) for stats [N, 1, P] and z [N, n, D],
// and of `def inverse(self, stats, z)` returning z_0 (both float64 there);
// empty for the diagonal Gaussian (no flow, summary {mu, sigma} in closed
// form); with a flow, summary gives {mean, std} of n draws.
std::string gaussian_script_methods(const std::string& flow_methods);
// What model.json says of them.
std::vector<std::pair<std::string, std::string>> gaussian_script_docs(bool flow);

}  // namespace vae
