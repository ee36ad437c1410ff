// The fully connected VAE's negative ELBO and its gradient, derived by hand
// (llm.c's way: the maths beside each loop) instead of recorded by autograd.
//
// Why: for the default 784-400-20 model on a 2-core CPU, autograd's graph,
// its temporaries and ~150 operator dispatches per step cost as much again
// as the matrix products themselves (docs/performance.md). Here every
// product writes into a buffer kept from step to step (gemm_out: oneDNN's
// sgemm or LibTorch's BLAS, gemm.h), the bias, ReLU and loss terms are fused
// loops, and no graph is built. The numbers are autograd's up to float rounding
// (tests/engine/test_mlp_gradient.cpp compares every gradient).
//
// Notation (one row per image, B rows):
//   encoder  a_0 = x [B, D];  a_l = relu(a_{l-1} W_l^T + b_l);
//            [mu, lv] = a_L Wh^T + bh;       std = exp(lv / 2)
//   sample   z = mu + std * eps                      (reparameterization)
//   KL       k_d = 0.5 (mu^2 + std^2 - 1 - lv)       (per image and dim)
//   decoder  g_0 = z;  g_l = relu(g_{l-1} V_l^T + c_l);  y = g_L V_o^T + c_o
//   Bernoulli  -log p(x|z) = sum_j softplus(y_j) - x_j y_j
//   Gaussian   -log p(x|z) = sum_j (x_j - m_j)^2 / (2 s_j^2) + log s_j
//              + log(2 pi) / 2,   m = sigmoid(y),  s = exp(log_sigma)
// Objective: r * sum_i -log p(x_i|z_i) + sum_d w_d sum_i k_id, where r and
// w_d come from the trainer (1/batch; beta/batch, or 0 for a dimension held
// at its free-bits floor).
#pragma once

#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <vector>

#include "vae/engine/gemm.h"
#include "vae/model/vae_model.h"

namespace vae {

class MlpGradient {
 public:
  // True when this class computes `model`'s gradient: read off the modules,
  // fully connected layers with ReLUs (any sizes) as in the notation above, a
  // diagonal Gaussian posterior, the N(0, I) prior, Bernoulli or Gaussian
  // pixels, float32 parameters on the CPU and nothing else.
  static bool covers(const VAE& model);

  // Holds `model` (its parameters are shared, not copied); the products run
  // on `gemm`. Throws vae::Error when !covers(model).
  explicit MlpGradient(VAE model, GemmBackend gemm = parse_gemm("auto"));

  // The library its products run on.
  GemmBackend gemm() const { return gemm_; }

  // The forward pass for x ([B, C, H, W] or [B, D], float, in [0, 1]) with
  // the reparameterization noise eps [B, latent]: the sums over the rows of
  // -log p(x|z) and of the KL per dimension, and the encoder's output
  // [mu, logvar] (as VAEImpl::elbo_sums; the stats are a view into a buffer,
  // valid until the next call). Keeps
  // what backward() needs; buffers grow to the largest B seen.
  ElboSums forward(const torch::Tensor& x, const torch::Tensor& eps);

  // The gradient of  recon_weight * recon_sum + sum_d kl_weight[d] * kl_sum[d]
  // for the last forward(), written (not added) to every parameter's .grad.
  void backward(double recon_weight, const torch::Tensor& kl_weight);

 private:
  struct Layer {
    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out]
  };
  void reserve(int64_t rows);
  // Columns [begin, begin + size) of the decoder's output y, one thread's
  // share: their -log p(x|z) summed over the rows (the bias is added here,
  // and the Gaussian's constant terms are left to the caller), that block of
  // residual_ = d(-log p)/dy, and for a Gaussian of sigma_grad_.
  double likelihood_terms(const torch::Tensor& y, int64_t begin, int64_t size);
  void prepare_gaussian();  // inv_var_ and gaussian_constant_

  VAE model_;
  GemmBackend gemm_;
  std::vector<Layer> encoder_;  // the body's Linear layers, then the head
  std::vector<Layer> decoder_;  // the body's Linear layers; the last one outputs y
  torch::Tensor log_sigma_;     // Gaussian only
  bool learn_sigma_ = false;
  int64_t latent_ = 0, pixels_ = 0;

  // Buffers for up to capacity_ rows; a forward of B rows uses rows [0, B).
  int64_t capacity_ = 0, rows_ = 0;
  torch::Tensor x_;                       // the last input, [B, D] (a view)
  torch::Tensor eps_;                     // [B, latent] (a view)
  std::vector<torch::Tensor> enc_act_;    // a_1 .. a_L, and [mu, lv] last
  std::vector<torch::Tensor> dec_act_;    // g_1 .. g_L, and y last
  torch::Tensor std_, z_;                 // [B, latent]
  torch::Tensor residual_;                // d(-log p)/dy per element, [B, D]
  torch::Tensor sigma_grad_;              // Gaussian learned: d/dlog_sigma sums, [D]
  torch::Tensor inv_var_;                 // Gaussian: exp(-2 log_sigma) per pixel, [D]
  double gaussian_constant_ = 0.0;        // Gaussian: rows * sum_j (ls_j + log(2 pi) / 2)
  std::vector<double> partial_;           // per-thread sums of -log p
  std::vector<torch::Tensor> enc_delta_;  // dL/d(pre-activation of a_l), l = 1 .. L
  std::vector<torch::Tensor> dec_delta_;  // the same for g_l
  torch::Tensor stats_delta_, z_delta_;   // [B, 2 latent], [B, latent]
};

}  // namespace vae
