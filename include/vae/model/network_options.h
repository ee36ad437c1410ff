// The shape of the encoder and decoder networks, shared by both so that the
// decoder mirrors the encoder.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vae/model/architecture.h"
#include "vae/model/likelihood.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"

namespace vae {

struct NetworkOptions {
  // Throws vae::Error when sizes are non-positive or the architecture
  // refuses them (conv: the image must divide by 2^(conv layers)).
  void validate() const;
  int64_t input_size() const { return in_channels() * height() * width(); }

  // The encoder's layers before its fully connected trunk and the decoder's
  // after it (model/architecture.h).
  TORCH_ARG(ArchitectureRef, arch) = parse_architecture("mlp");
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, height) = 28;
  TORCH_ARG(int64_t, width) = 28;
  // Fully connected hidden sizes, encoder order (the decoder reverses them).
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{400};
  // Convolution channels, encoder order (conv only).
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{32, 64};
  TORCH_ARG(int64_t, latent_dim) = 20;
  // The model parts, registered families (src/model/).
  TORCH_ARG(PosteriorRef, posterior) = parse_posterior("diagonal-gaussian");
  TORCH_ARG(PriorRef, prior) = parse_prior("standard-normal");
  TORCH_ARG(LikelihoodRef, likelihood) = parse_likelihood("bernoulli");
  // Flow posteriors (planar, iaf): the number of steps K; iaf: the hidden
  // units of each step's network and the width of the context h(x).
  TORCH_ARG(int64_t, flow_steps) = 4;
  TORCH_ARG(int64_t, iaf_hidden) = 128;
  // The categorical posterior: N variables of K categories each (the
  // latent code is their N one-hot vectors, latent_dim = N K), and the
  // straight-through estimator (hard one-hot forward, relaxed backward).
  TORCH_ARG(int64_t, categorical_vars) = 30;
  TORCH_ARG(int64_t, categories) = 10;
  TORCH_ARG(bool, gumbel_hard) = false;
  // Families with a scale (gaussian) only: the fixed standard deviation, or its initial value when
  // learned (one learned value per pixel).
  TORCH_ARG(double, sigma) = 0.1;
  TORCH_ARG(bool, learn_sigma) = false;
};

}  // namespace vae
