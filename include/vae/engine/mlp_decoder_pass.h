// log p(x|z) for many codes at once through a fully connected decoder,
// without autograd: the inner loop of the importance-sampled evaluation
// (`vae eval`, `vae score`), which decodes k codes per image.
//
// Notation (R rows, one per code):
//   g_0 = z [R, latent];  g_l = relu(g_{l-1} V_l^T + c_l)  [R, width_l]
//   y = g_L V_o^T         [R, pixels]  (the bias c_o joins in the loss pass)
//   Bernoulli  log p(x|z) = sum_j x_j v_j - softplus(v_j),   v = y + c_o + a(x)
//   where a(x) is the decoder's autoregressive offset (model/pixel_context.h;
//   one convolution of the R images up front), or 0; when its gates read z,
//   v = l + sum_h u_h tanh(A_h + g_h l) sigmoid(B_h + g'_h l) per pixel, with
//   l = y + c_o + the window sum and A, B the gates' window terms (computed
//   up front too)
//   Gaussian   log p(x|z) = -sum_j (x_j - m_j)^2 / (2 s_j^2) + log s_j
//              + log(2 pi) / 2,   m = sigmoid(v),  s = exp(log_sigma)
// Each thread takes blocks of rows and runs the whole stack on a block while
// it is in that core's cache: the products on the calling thread (gemm_out:
// oneDNN's sgemm where built in), the bias and ReLU in place, then one pass
// over the block's output for the likelihood (likelihood_rows.h). Buffers are
// kept from call to call. The numbers are the modules' up to float rounding
// (tests/engine/test_mlp_decoder_pass.cpp).
#pragma once

#include <torch/types.h>

#include <vector>

#include "vae/engine/gemm.h"
#include "vae/model/vae_model.h"

namespace vae {

class MlpDecoderPass {
 public:
  // True when the decoder is (Linear, ReLU)*, Linear, Unflatten with
  // float32 parameters on the CPU and the likelihood Bernoulli or Gaussian;
  // the encoder, posterior and prior may be anything (a hierarchy decodes
  // its bottom layer: the first latent_dim columns of z).
  static bool covers(const VAE& model);
  // Holds `model`'s decoder parameters (shared, not copied). Throws
  // vae::Error when !covers(model).
  explicit MlpDecoderPass(const VAE& model, GemmBackend gemm = parse_gemm("auto"));

  // x [R, ...] (each code's image, float32 in [0, 1]) and z [R, code_dim]
  // float32 CPU -> log p(x_r | z_r) [R] float32.
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z);

 private:
  struct Layer {
    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out]
  };
  VAE model_;
  GemmBackend gemm_;
  std::vector<Layer> layers_;  // the last one outputs y
  bool gaussian_ = false;
  int64_t latent_ = 0, pixels_ = 0;
  // Per thread: g_1 .. g_L and y for one block of rows, [kBlock, width].
  std::vector<std::vector<torch::Tensor>> buffers_;
};

}  // namespace vae
