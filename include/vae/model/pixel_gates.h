// The gated units of the decoder's autoregressive window when they read the
// pixel's logit (model/pixel_context.h, --autoregressive-gates-read-z), as
// one fused CPU loop forward and one backward:
//   y = v + sum_h u_h tanh(A_h + g_h v) sigmoid(B_h + g'_h v)
// per row, channel and pixel, A and B the gates' window terms of the row's
// image. LibTorch's op-by-op version makes a pass over [rows, C, 2, H', H, W]
// per operation (and keeps most of them for the backward pass); here each
// pixel's 2H' gates live in registers, and the backward pass recomputes
// them from the inputs. Rows may be `copies` codes per image (importance
// sampling): the window terms are read, not repeated, and their gradient is
// summed over the copies.
#pragma once

#include <torch/types.h>

namespace vae {

// Whether gated_logit_read() takes these tensors (float32 on the CPU);
// otherwise the caller uses the op-by-op formula.
bool gated_logit_read_covers(const torch::Tensor& gates, const torch::Tensor& v);

// gates [N, C, 2, H', H, W] (channel c's a units, then its b units), v
// [N * copies, C, H, W], logit_weight [C, 2, H'] (g, then g'), out_weight
// [C, H', 1, 1] -> y [N * copies, C, H, W]. Differentiable in all four.
torch::Tensor gated_logit_read(const torch::Tensor& gates, const torch::Tensor& v,
                               const torch::Tensor& logit_weight, const torch::Tensor& out_weight);

}  // namespace vae
