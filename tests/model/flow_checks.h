// Checks every flow posterior family passes (planar, iaf): the
// log-determinant against the autograd Jacobian, the identity flow, expand.
#pragma once

#include <torch/types.h>

#include <memory>

#include "vae/model/network_options.h"
#include "vae/model/posterior.h"

namespace vae::testing {

// For one image's stats [1, P] (float64; `parameters` converted to it too)
// with mu = 0 and logvar = 0 set in them, so that z_0 = eps:
// log N(eps; 0, I) - log q(z_K|x) = log|det dz_K/deps|, computed row by row
// with autograd, to 1e-4 at five random eps.
void expect_flow_log_det_matches_jacobian(const PosteriorFamily& family,
                                          const NetworkOptions& options, torch::Tensor stats,
                                          const std::shared_ptr<torch::nn::Module>& parameters);

// A flow that is the identity gives the base Gaussian's draws and log q
// exactly (torch::equal).
void expect_flow_is_identity(const PosteriorFamily& family, const NetworkOptions& options,
                             const torch::Tensor& stats,
                             const std::shared_ptr<torch::nn::Module>& parameters);

// expand(S) draws, with [N, S, D] noise, what each image's own posterior
// draws with its [1, D] rows, log q included.
void expect_expand_matches_rows(const PosteriorFamily& family, const NetworkOptions& options,
                                const std::shared_ptr<torch::nn::Module>& parameters);

// log_prob(z) through the inverse flow gives back the log q of the flow's
// own draws (to 1e-6, in float64), for [N, D] and expanded [N, S, D]
// codes; stats scaled by `scale` make the maps far from the identity.
void expect_log_prob_inverts_the_flow(const PosteriorFamily& family, const NetworkOptions& options,
                                      const std::shared_ptr<torch::nn::Module>& parameters,
                                      double scale);

// A small VAE with the family fits 64 synthetic binary images (two
// prototypes, pixels flipped with probability 0.1) by its ELBO with the
// Monte Carlo KL: in 150 Adam steps the -ELBO falls by 3 nats and ends
// within 2 nats of the images' exact -log p(x) under that process.
void expect_flow_vae_learns(const NetworkOptions& options);

}  // namespace vae::testing
