// MlpGradient's likelihood terms: -log p(x|z) and its derivative for blocks
// of the decoder's output, fused into one pass per element.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "vae/engine/mlp_gradient.h"
#include "vae/runtime/fast_math.h"

namespace vae {

// The likelihood's terms for one block of the decoder's output columns, one
// pass per element while the block is in cache. Free functions so that each
// has an AVX-512, an AVX2 and a generic clone, picked at load time.
namespace {

struct LossBlock {
  float* y;           // logits, [rows, n] at row stride `stride`; the bias is added here
  const float* bias;  // [n]
  const float* x;     // data, same layout as y
  float* residual;    // d(-log p)/dy, same layout as y
  int64_t rows, n, stride;
};

// -log Bernoulli(x; sigmoid(y)) = softplus(y) - x y and its derivative
// sigmoid(y) - x. With e = exp(-|y|) both come from one exponential:
// softplus(y) = max(y, 0) + log1p(e); sigmoid(y) = 1 / (1 + e) for y >= 0
// and e / (1 + e) below. Returns the block's sum of -log p.
__attribute__((target_clones("avx512f", "avx2", "default"))) double bernoulli_block(
    const LossBlock& b) {
  double total = 0.0;
  for (int64_t i = 0; i < b.rows; ++i) {
    float* __restrict y = b.y + i * b.stride;
    const float* __restrict x = b.x + i * b.stride;
    float* __restrict r = b.residual + i * b.stride;
    const float* __restrict bias = b.bias;
    float row = 0.0f;  // a row's few hundred terms in float, rows summed in double
#pragma omp simd reduction(+ : row)
    for (int64_t j = 0; j < b.n; ++j) {
      const float v = y[j] + bias[j];
      y[j] = v;
      const float e = fast_math::exp_minus(std::fabs(v));
      const float numerator = v >= 0.0f ? 1.0f : e;
      r[j] = numerator / (1.0f + e) - x[j];
      row += std::max(v, 0.0f) + fast_math::log1p_unit(e) - x[j] * v;
    }
    total += row;
  }
  return total;
}

// Gaussian with mean m = sigmoid(y) and inverse variance w = exp(-2 ls) per
// pixel (a shared sigma repeated):
//   -log p = (x - m)^2 w / 2 + ls + log(2 pi) / 2,
//   d/dy   = (m - x) w m (1 - m)     (into residual),
//   d/dls  = 1 - (x - m)^2 w         (summed over rows into sigma_grad [n]).
// The terms in ls and log(2 pi) add up to a constant the caller adds;
// returns the block's sum of the squares' halves.
__attribute__((target_clones("avx512f", "avx2", "default"))) double gaussian_block(
    const LossBlock& b, const float* __restrict inv_var, float* __restrict sigma_grad) {
  for (int64_t j = 0; j < b.n; ++j)
    sigma_grad[j] = 0.0f;
  double total = 0.0;
  for (int64_t i = 0; i < b.rows; ++i) {
    float* __restrict y = b.y + i * b.stride;
    const float* __restrict x = b.x + i * b.stride;
    float* __restrict r = b.residual + i * b.stride;
    const float* __restrict bias = b.bias;
    float row = 0.0f;
#pragma omp simd reduction(+ : row)
    for (int64_t j = 0; j < b.n; ++j) {
      const float v = y[j] + bias[j];
      y[j] = v;
      const float e = fast_math::exp_minus(std::fabs(v));
      const float mean = (v >= 0.0f ? 1.0f : e) / (1.0f + e);
      const float diff = x[j] - mean;
      const float sq = diff * diff * inv_var[j];
      sigma_grad[j] += 1.0f - sq;
      r[j] = -diff * inv_var[j] * mean * (1.0f - mean);
      row += 0.5f * sq;
    }
    total += row;
  }
  return total;
}

}  // namespace

// Columns [begin, begin + n) of y = the decoder's output, in place.
double MlpGradient::likelihood_terms(const torch::Tensor& y, int64_t begin, int64_t n) {
  const LossBlock block{y.data_ptr<float>(),
                        decoder_.back().bias.data_ptr<float>() + begin,
                        x_.data_ptr<float>() + begin,
                        residual_.data_ptr<float>() + begin,
                        rows_,
                        n,
                        pixels_};
  if (!log_sigma_.defined()) return bernoulli_block(block);
  return gaussian_block(block, inv_var_.data_ptr<float>() + begin,
                        sigma_grad_.data_ptr<float>() + begin);
}

// inv_var_ = exp(-2 ls) per pixel, and gaussian_constant_ = the sum over the
// batch of the terms ls + log(2 pi) / 2.
void MlpGradient::prepare_gaussian() {
  static const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);
  const torch::Tensor ls = log_sigma_.reshape({-1}).contiguous();
  const bool per_pixel = ls.numel() == pixels_;
  const float* pls = ls.data_ptr<float>();
  float* inv = inv_var_.data_ptr<float>();
  double sum = 0.0;
  for (int64_t j = 0; j < pixels_; ++j) {
    const float value = pls[per_pixel ? j : 0];
    inv[j] = std::exp(-2.0f * value);
    sum += value;
  }
  gaussian_constant_ = static_cast<double>(rows_) * (sum + pixels_ * kHalfLog2Pi);
}

}  // namespace vae
