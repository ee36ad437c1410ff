#include "vae/model/decoder.h"

#include <torch/torch.h>

#include <cmath>

namespace vae {

DecoderImpl::DecoderImpl(DecoderOptions options) : options_(std::move(options)) {
  options_.validate();
  namespace nn = torch::nn;
  body_ = nn::Sequential();
  int64_t features = options_.latent_dim();
  const auto& hidden = options_.hidden();
  for (auto it = hidden.rbegin(); it != hidden.rend(); ++it) {
    body_->push_back(nn::Linear(features, *it));
    body_->push_back(nn::ReLU());
    features = *it;
  }
  // The fully connected trunk (the encoder's, reversed), then the
  // architecture's layers.
  options_.arch()->add_decoder_back(options_, body_, features);
  register_module("body", body_);

  if (options_.likelihood()->has_scale()) {
    const double log_sigma = std::log(options_.sigma());
    if (options_.learn_sigma()) {
      log_sigma_ = register_parameter(
          "log_sigma",
          torch::full({options_.in_channels(), options_.height(), options_.width()}, log_sigma));
    } else {
      log_sigma_ = register_buffer("log_sigma", torch::full({}, log_sigma));
    }
  }
  if (options_.autoregressive_kernel() > 0) {
    context_ = register_module(
        "context",
        PixelContext(PixelContextOptions(options_.in_channels(), options_.autoregressive_kernel())
                         .hidden(options_.autoregressive_hidden())
                         .gates_read_z(options_.autoregressive_gates_read_z())
                         .features(options_.autoregressive_features())
                         .feature_kernel(options_.autoregressive_feature_kernel())));
  }
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& z) {
  return body_->forward(z);
}

torch::Tensor DecoderImpl::conditioned(const torch::Tensor& x, const torch::Tensor& output) const {
  if (context_.is_empty()) return output;
  return context_->forward(x.view_as(output), output);
}

torch::Tensor DecoderImpl::log_likelihood(const torch::Tensor& x,
                                          const torch::Tensor& output) const {
  return options_.likelihood()->log_prob(x.view_as(output), conditioned(x, output), params());
}

torch::Tensor DecoderImpl::log_likelihood_sum(const torch::Tensor& x,
                                              const torch::Tensor& output) const {
  return options_.likelihood()->log_prob_sum(x.view_as(output), conditioned(x, output), params());
}

torch::Tensor DecoderImpl::log_likelihood_of_copies(const torch::Tensor& x,
                                                    const torch::Tensor& output,
                                                    int64_t copies) const {
  const torch::Tensor images = x.view({x.size(0), output.size(1), output.size(2), output.size(3)});
  const torch::Tensor x_rep = images.repeat_interleave(copies, 0);
  if (context_.is_empty()) return log_likelihood(x_rep, output);
  return options_.likelihood()->log_prob(
      x_rep, context_->apply(context_->window_terms(images), output), params());
}

torch::Tensor DecoderImpl::mean(const torch::Tensor& output) const {
  const LikelihoodFamily& family = *options_.likelihood();
  const double scale = family.mean_scale(params());
  const auto mean_of = [&family, scale](const torch::Tensor& v) {
    return scale == 1.0 ? family.mean(v) : family.mean(v) * scale;
  };
  if (context_.is_empty()) return mean_of(output);
  return context_->unroll(output, mean_of);
}

torch::Tensor DecoderImpl::sample(const torch::Tensor& output, at::Generator& generator) const {
  const LikelihoodFamily& family = *options_.likelihood();
  const LikelihoodParams cpu(log_sigma_.defined() ? log_sigma_.cpu() : log_sigma_,
                             options_.trials());
  const auto draw = [&](const torch::Tensor& v) {
    return family.sample(v.cpu(), cpu, generator).to(v.device());
  };
  if (context_.is_empty()) return draw(output);
  return context_->unroll(output, draw);
}

}  // namespace vae
