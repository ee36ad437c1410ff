// The inference network q(z|x) = N(mu(x), diag exp(logvar(x))).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <utility>

#include "vae/network_options.h"

namespace vae {

using EncoderOptions = NetworkOptions;

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(EncoderOptions options = {});

  // x: [N, C, H, W] (or [N, C*H*W] for mlp) -> (mu, logvar), each [N, latent].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

  const EncoderOptions& options() const { return options_; }
  // The layers, for the TorchScript exporter.
  const torch::nn::Sequential& body() const { return body_; }
  const torch::nn::Linear& head() const { return head_; }

 private:
  EncoderOptions options_;
  torch::nn::Sequential body_{nullptr};
  // mu and logvar come from one fused [hidden -> 2 * latent] product: one
  // matrix multiply instead of two narrow ones.
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace vae
