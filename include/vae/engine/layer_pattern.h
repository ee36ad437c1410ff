// Which layers a module stack holds, read off the modules: how the
// hand-derived passes (mlp_gradient.h, mlp_decoder_pass.h) decide what they
// cover.
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include <string>

namespace vae {

// True when `layers` are, in order, the kinds in `head`, then `repeated` any
// number of times, then `tail`: 'F' Flatten, 'L' Linear with a bias, 'R'
// ReLU, 'U' Unflatten.
bool layers_are(const torch::nn::Sequential& layers, const std::string& head,
                const std::string& repeated, const std::string& tail);

}  // namespace vae
