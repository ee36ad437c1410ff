// log p(x|z) summed over one image's pixels, from the decoder's output row,
// in one vectorized pass (fast_math.h's exp and log1p; an AVX-512, an AVX2
// and a generic clone picked at load time). For passes that score many
// codes without autograd: the importance-sampled evaluation
// (mlp_decoder_pass.h, evaluation/fast_log_joint.h).
#pragma once

#include <cstdint>

namespace vae {

// Bernoulli: sum_j x_j v_j - softplus(v_j) with v = y + bias (bias may be
// null: v = y). softplus(v) = max(v, 0) + log1p(exp(-|v|)).
float bernoulli_row_log_prob(const float* x, const float* y, const float* bias, int64_t n);

// Gaussian with mean m = sigmoid(v), v = y + bias (bias not null), and
// inverse variances inv_var [n]: -sum_j (x_j - m_j)^2 inv_var_j / 2. The
// terms in log sigma and log(2 pi), the same for every row, are left to the
// caller.
float gaussian_row_log_prob_quadratic(const float* x, const float* y, const float* bias,
                                      const float* inv_var, int64_t n);

}  // namespace vae
