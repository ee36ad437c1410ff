// The window terms of a decoder's two-layer causal stack
// (model/pixel_context.h with --autoregressive-features) as one fused CPU
// pass, forward and backward:
//   linear = conv(x, weight)                  (mask A, K x K)
//   A      = conv(x, gate_weight)             (mask A)
//   f      = tanh(conv(x, c)) sigmoid(conv(x, d))   (c, d: feature_weight)
//   gates  = A + conv(f, feature_gate_weight) (mask B, K' x K')
// one group per channel. LibTorch's convolutions multiply every tap of the
// K x K and K' x K' kernels, zeros included; mask A keeps K (K/2) + K/2 of
// the K^2 taps (24 of 49 for K = 7) and mask B K' (K'/2) + K'/2 + 1 (13 of
// 25). Here each image's taps are gathered (im2col) into a small matrix
// that stays in cache, and every term is one product with the kept taps
// (engine/gemm.h, on the calling thread), images in parallel; the features
// live only inside the pass, recomputed from the saved pre-activations for
// the backward pass.
#pragma once

#include <torch/types.h>

namespace vae {

// Whether causal_stack_terms() takes these tensors (float32 on the CPU);
// otherwise the caller uses the convolutions.
bool causal_stack_covers(const torch::Tensor& x);

struct CausalStackTerms {
  torch::Tensor linear;  // [N, C, H, W]
  torch::Tensor gates;   // [N, C * 2H', H, W]
};

// x [N, C, H, W]; the masked weights: weight [C, 1, K, K], gate_weight
// [C * 2H', 1, K, K] and feature_weight [C * 2F, 1, K, K] (mask A: only the
// taps above the centre row and left of the centre are read),
// feature_gate_weight [C * 2H', F, K', K'] (mask B: those and the centre).
// Differentiable in all five; the weights' gradients are zero outside
// their masks.
CausalStackTerms causal_stack_terms(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& gate_weight,
                                    const torch::Tensor& feature_weight,
                                    const torch::Tensor& feature_gate_weight);

}  // namespace vae
