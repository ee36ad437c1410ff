// The generative network p(x|z): an unconstrained output for every pixel,
// which the likelihood family (model/likelihood.h) reads as a distribution,
// plus the log standard deviation of families with a scale.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "vae/model/network_options.h"
#include "vae/model/pixel_context.h"

namespace vae {

using DecoderOptions = NetworkOptions;

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(DecoderOptions options = {});

  // z: [N, latent] -> decoder output [N, C, H, W].
  torch::Tensor forward(const torch::Tensor& z);

  // What the likelihood family reads for images x [N, C, H, W] given the
  // output of their codes: the output plus the autoregressive offsets of x
  // (--autoregressive-kernel), or the output itself.
  torch::Tensor conditioned(const torch::Tensor& x, const torch::Tensor& output) const;
  // log p(x|z) per image [N], and summed over the batch (fused kernels).
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& output) const;
  torch::Tensor log_likelihood_sum(const torch::Tensor& x, const torch::Tensor& output) const;
  // log p(x|z) of `copies` codes per image [N * copies]: images x [N, ...],
  // the output of their codes [N * copies, C, H, W], image i's in rows
  // i * copies .. i * copies + copies - 1 (importance sampling). Equals
  // log_likelihood() of the images repeated, but the autoregressive
  // window's terms, which read x alone, are computed once per image.
  torch::Tensor log_likelihood_of_copies(const torch::Tensor& x, const torch::Tensor& output,
                                         int64_t copies) const;
  // The mean image of an output in [0, 1]; with an autoregressive part the
  // mean-field image (pixel by pixel, each pixel's mean fed forward as its
  // value: the exact mean would need a sum over the pixels before it).
  torch::Tensor mean(const torch::Tensor& output) const;
  // One draw x ~ p(x|z) per row of output (pixel by pixel with an
  // autoregressive part), on the output's device, from `generator` (CPU).
  torch::Tensor sample(const torch::Tensor& output, at::Generator& generator) const;

  const DecoderOptions& options() const { return options_; }
  // The layers, for the TorchScript exporter.
  const torch::nn::Sequential& body() const { return body_; }
  // Families with a scale: log sigma ([C, H, W] learned, or a scalar);
  // else undefined.
  const torch::Tensor& log_sigma() const { return log_sigma_; }
  // What the likelihood family reads besides the output.
  LikelihoodParams params() const { return {log_sigma_, options_.trials()}; }
  // The autoregressive part, or an empty holder.
  const PixelContext& context() const { return context_; }

 private:
  DecoderOptions options_;
  torch::nn::Sequential body_{nullptr};
  // A parameter [C, H, W] when learned, else a scalar buffer.
  torch::Tensor log_sigma_;
  PixelContext context_{nullptr};
};
TORCH_MODULE(Decoder);

}  // namespace vae
