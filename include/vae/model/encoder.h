// The inference network: the statistics of q(z|x) for each image, which the
// posterior family (model/posterior.h) reads as a distribution.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "vae/model/network_options.h"

namespace vae {

using EncoderOptions = NetworkOptions;

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(EncoderOptions options = {});

  // x: [N, C, H, W] (or [N, C*H*W] for mlp) -> stats [N, posterior's stats_size].
  torch::Tensor forward(const torch::Tensor& x);

  const EncoderOptions& options() const { return options_; }
  // The layers, for the TorchScript exporter.
  const torch::nn::Sequential& body() const { return body_; }
  const torch::nn::Linear& head() const { return head_; }

 private:
  EncoderOptions options_;
  torch::nn::Sequential body_{nullptr};
  // Every statistic (mu and logvar for the diagonal Gaussian) comes from one
  // fused product: one matrix multiply instead of one per statistic.
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace vae
