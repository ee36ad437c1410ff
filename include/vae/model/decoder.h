// The generative network p(x|z): an unconstrained output for every pixel,
// which the likelihood family (model/likelihood.h) reads as a distribution,
// plus the log standard deviation of families with a scale.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "vae/model/network_options.h"

namespace vae {

using DecoderOptions = NetworkOptions;

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(DecoderOptions options = {});

  // z: [N, latent] -> decoder output [N, C, H, W].
  torch::Tensor forward(const torch::Tensor& z);

  // log p(x|z) per image [N], and summed over the batch (fused kernels).
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& output) const;
  torch::Tensor log_likelihood_sum(const torch::Tensor& x, const torch::Tensor& output) const;

  const DecoderOptions& options() const { return options_; }
  // The layers, for the TorchScript exporter.
  const torch::nn::Sequential& body() const { return body_; }
  // Families with a scale: log sigma ([C, H, W] learned, or a scalar);
  // else undefined.
  const torch::Tensor& log_sigma() const { return log_sigma_; }

 private:
  DecoderOptions options_;
  torch::nn::Sequential body_{nullptr};
  // A parameter [C, H, W] when learned, else a scalar buffer.
  torch::Tensor log_sigma_;
};
TORCH_MODULE(Decoder);

}  // namespace vae
