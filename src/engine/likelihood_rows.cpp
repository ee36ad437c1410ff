#include "vae/engine/likelihood_rows.h"

#include <algorithm>
#include <cmath>

#include "vae/runtime/fast_math.h"

namespace vae {

// The pixels of a row are summed in float (a few hundred terms), as
// LibTorch's sum over a row does.
__attribute__((target_clones("avx512f", "avx2", "default"))) float bernoulli_row_log_prob(
    const float* __restrict x, const float* __restrict y, const float* __restrict bias, int64_t n) {
  float row = 0.0f;
  if (bias == nullptr) {
#pragma omp simd reduction(+ : row)
    for (int64_t j = 0; j < n; ++j) {
      const float v = y[j];
      row +=
          x[j] * v - std::max(v, 0.0f) - fast_math::log1p_unit(fast_math::exp_minus(std::fabs(v)));
    }
  } else {
#pragma omp simd reduction(+ : row)
    for (int64_t j = 0; j < n; ++j) {
      const float v = y[j] + bias[j];
      row +=
          x[j] * v - std::max(v, 0.0f) - fast_math::log1p_unit(fast_math::exp_minus(std::fabs(v)));
    }
  }
  return row;
}

// sigmoid(v) = 1 / (1 + e) for v >= 0 and e / (1 + e) below, e = exp(-|v|).
__attribute__((target_clones("avx512f", "avx2", "default"))) float gaussian_row_log_prob_quadratic(
    const float* __restrict x, const float* __restrict y, const float* __restrict bias,
    const float* __restrict inv_var, int64_t n) {
  float row = 0.0f;
#pragma omp simd reduction(+ : row)
  for (int64_t j = 0; j < n; ++j) {
    const float v = y[j] + bias[j];
    const float e = fast_math::exp_minus(std::fabs(v));
    const float mean = (v >= 0.0f ? 1.0f : e) / (1.0f + e);
    const float diff = x[j] - mean;
    row -= 0.5f * diff * diff * inv_var[j];
  }
  return row;
}

}  // namespace vae
