#include "vae/model/encoder.h"

#include <torch/torch.h>

namespace vae {

EncoderImpl::EncoderImpl(EncoderOptions options) : options_(std::move(options)) {
  options_.validate();
  namespace nn = torch::nn;
  body_ = nn::Sequential();
  int64_t features = options_.input_size();
  if (options_.arch() == Architecture::kConv) {
    int64_t channels = options_.in_channels();
    int64_t h = options_.height(), w = options_.width();
    for (int64_t out : options_.channels()) {
      body_->push_back(nn::Conv2d(nn::Conv2dOptions(channels, out, 4).stride(2).padding(1)));
      body_->push_back(nn::ReLU());
      channels = out;
      h /= 2;
      w /= 2;
    }
    features = channels * h * w;
  }
  body_->push_back(nn::Flatten());
  for (int64_t size : options_.hidden()) {
    body_->push_back(nn::Linear(features, size));
    body_->push_back(nn::ReLU());
    features = size;
  }
  register_module("body", body_);
  head_ = register_module(
      "head", nn::Linear(features, options_.posterior()->stats_size(options_.latent_dim())));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor input = x;
  if (options_.arch() == Architecture::kConv && x.dim() == 2) {
    input = x.view({-1, options_.in_channels(), options_.height(), options_.width()});
  }
  return head_(body_->forward(input));
}

}  // namespace vae
