// TorchScript text for LibTorch layers: the exporter writes each network as
// straight-line statements on `h`, its weights registered on the module.
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

namespace vae {

// "[1, 2, 3]".
std::string int_list(const std::vector<int64_t>& values);

// Registers the parameters of `layer` as `prefix_weight` / `prefix_bias`
// (copies on the CPU) and returns their names ("self.prefix_weight", ...).
std::pair<std::string, std::string> register_layer(torch::jit::Module& module,
                                                   const torch::nn::Module& layer,
                                                   const std::string& prefix);

// TorchScript lines computing `h = layers(h)`, one line per layer (8 spaces
// indented); throws vae::Error for a layer it has no translation for.
std::string script_layers(torch::jit::Module& module, const torch::nn::Sequential& layers,
                          const std::string& prefix);

}  // namespace vae
