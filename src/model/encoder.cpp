#include "vae/model/encoder.h"

#include <torch/torch.h>

namespace vae {

EncoderImpl::EncoderImpl(EncoderOptions options) : options_(std::move(options)) {
  options_.validate();
  namespace nn = torch::nn;
  body_ = nn::Sequential();
  // The architecture's layers, then the fully connected trunk.
  int64_t features = options_.arch()->add_encoder_front(options_, body_);
  body_->push_back(nn::Flatten());
  for (int64_t size : options_.hidden()) {
    body_->push_back(nn::Linear(features, size));
    body_->push_back(nn::ReLU());
    features = size;
  }
  register_module("body", body_);
  head_ = register_module("head", nn::Linear(features, options_.posterior()->stats_size(options_)));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor input = x;
  if (options_.arch()->image_input() && x.dim() == 2) {
    input = x.view({-1, options_.in_channels(), options_.height(), options_.width()});
  }
  return head_(body_->forward(input));
}

}  // namespace vae
