// The shape of the encoder and decoder networks, shared by both so that the
// decoder mirrors the encoder.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vae/model/architecture.h"
#include "vae/model/inference.h"
#include "vae/model/likelihood.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"

namespace vae {

struct NetworkOptions {
  // Throws vae::Error when sizes are non-positive or the architecture
  // refuses them (conv: the image must divide by 2^(conv layers)).
  void validate() const;
  int64_t input_size() const { return in_channels() * height() * width(); }
  // The widths of the latent layers z_1 (bottom: the encoder's posterior,
  // the decoder's input) .. z_L: {latent_dim} for one layer.
  std::vector<int64_t> layer_dims() const;
  // The width of the whole code [z_1, .., z_L] (latent_dim for one layer).
  int64_t code_dim() const;
  // The settings of the top layer alone (latent_dim = d_L), which the prior
  // p(z_L) reads.
  NetworkOptions top_layer() const;

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
  // Hierarchical latents (latent_hierarchy.h): L layers of widths
  // latent_dims (bottom first; latent_dim is its first), the hidden sizes of
  // each conditional's network, and how q infers them.
  TORCH_ARG(int64_t, latent_layers) = 1;
  TORCH_ARG(std::vector<int64_t>, latent_dims) = std::vector<int64_t>{};
  TORCH_ARG(std::vector<int64_t>, layer_hidden) = std::vector<int64_t>{100, 100};
  TORCH_ARG(Inference, inference) = Inference::kBottomUp;
  // The model parts, registered families (src/model/).
  TORCH_ARG(PosteriorRef, posterior) = parse_posterior("diagonal-gaussian");
  TORCH_ARG(PriorRef, prior) = parse_prior("standard-normal");
  TORCH_ARG(LikelihoodRef, likelihood) = parse_likelihood("bernoulli");
  // binomial: the number of trials N of every pixel (counts 0..N).
  TORCH_ARG(int64_t, trials) = 1;
  // The decoder's autoregressive window (model/pixel_context.h): odd K >= 3,
  // or 0 for a factorised decoder.
  TORCH_ARG(int64_t, autoregressive_kernel) = 0;
  // Its gated units per channel (0: the linear window only), and whether
  // their gates also read the pixel's logit.
  TORCH_ARG(int64_t, autoregressive_hidden) = 0;
  TORCH_ARG(bool, autoregressive_gates_read_z) = false;
  // A first masked layer of gated feature maps per channel that those gates
  // also read, through a causal window of autoregressive_feature_kernel
  // (0: none).
  TORCH_ARG(int64_t, autoregressive_features) = 0;
  TORCH_ARG(int64_t, autoregressive_feature_kernel) = 5;
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
  // Learned priors: the mixture's components (mog) and the VampPrior's
  // pseudo-inputs (vamp).
  TORCH_ARG(int64_t, prior_components) = 10;
  TORCH_ARG(int64_t, pseudo_inputs) = 500;
  // Families with a scale (gaussian) only: the fixed standard deviation, or its initial value when
  // learned (one learned value per pixel).
  TORCH_ARG(double, sigma) = 0.1;
  TORCH_ARG(bool, learn_sigma) = false;

 private:
  void validate_layers() const;
};

}  // namespace vae
