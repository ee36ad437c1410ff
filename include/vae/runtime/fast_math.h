// exp and log1p on the ranges the likelihood loops need (and tanh and
// sigmoid for the gated units of an autoregressive decoder), written so that the
// compiler vectorizes a loop that calls them (plain arithmetic, no branches,
// no library calls). LibTorch's exp/log1p kernels, called block by block,
// cost a pass per function over the training step's logits; inlined here the
// loss is one pass (measurements: docs/performance.md).
//
// Accuracy (tests/runtime/test_fast_math.cpp, against double precision): relative
// error below 3e-7 (2.5 float ulps near 1) for both.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace vae::fast_math {

// e^{-a} for a >= 0 (Cephes' expf scheme): a = n ln 2 + r with |r| <= ln 2 / 2,
// e^{-a} = 2^{-n} e^{-r}, e^{-r} from its degree-6 minimax polynomial. Inputs
// above 87.3, and NaN, give ~1.2e-38 (the smallest normal float's neighbourhood)
// instead of a denormal or 0: for a likelihood term that is 0 to float
// precision.
inline float exp_minus(float a) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // ln 2 split in two, for an exact n ln 2
  constexpr float kLn2Lo = -2.12194440e-4f;
  // NaN compares false and takes the bound too: the conversion below must
  // never see a NaN (undefined behaviour). A NaN logit still makes the loss
  // NaN through the loss's other terms, which the trainer watches.
  a = a < 87.3f ? a : 87.3f;
  const float n = static_cast<float>(static_cast<int32_t>(a * kLog2e + 0.5f));  // a >= 0: round
  const float x = n * kLn2Hi - a + n * kLn2Lo;  // -r, in [-ln2/2, ln2/2]
  // e^x = 1 + x + x^2 P(x) (Cephes expf coefficients).
  float p = 1.9875691500e-4f;
  p = p * x + 1.3981999507e-3f;
  p = p * x + 8.3334519073e-3f;
  p = p * x + 4.1665795894e-2f;
  p = p * x + 1.6666665459e-1f;
  p = p * x + 5.0000001201e-1f;
  const float ex = (p * x * x + x) + 1.0f;
  // 2^{-n} from its bits: biased exponent 127 - n, n in [0, 126].
  const int32_t bits = (127 - static_cast<int32_t>(n)) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return ex * scale;
}

// log(1 + e) for e in [0, 1]: with t = e / (2 + e) in [0, 1/3],
// log(1 + e) = 2 atanh(t) = 2 t (1 + t^2/3 + t^4/5 + ...). t is computed
// without forming 1 + e, so small e keep full relative precision; the first
// term left out, t^14/15, is below 1.5e-8 relative.
inline float log1p_unit(float e) {
  const float t = e / (2.0f + e);
  const float t2 = t * t;
  float s = 1.0f / 13.0f;
  s = s * t2 + 1.0f / 11.0f;
  s = s * t2 + 1.0f / 9.0f;
  s = s * t2 + 1.0f / 7.0f;
  s = s * t2 + 1.0f / 5.0f;
  s = s * t2 + 1.0f / 3.0f;
  s = s * t2 + 1.0f;
  return 2.0f * t * s;
}

// x where c, else y, chosen by bit masks: GCC turns a ?: between two
// exp-based terms into a branch when it compiles for AVX2 or AVX-512 (a
// target_clones loop), and a loop with a branch stays scalar.
inline float select(bool c, float x, float y) {
  uint32_t bx, by;
  std::memcpy(&bx, &x, sizeof(bx));
  std::memcpy(&by, &y, sizeof(by));
  const uint32_t mask = 0u - static_cast<uint32_t>(c);
  const uint32_t bits = (bx & mask) | (by & ~mask);
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// tanh(a) for any a, as Cephes' tanhf: an odd polynomial below |a| = 0.625,
// 1 - 2 / (e^{2|a|} + 1) above, the sign put back. Both branches are
// computed and one selected, so a loop over it vectorizes.
inline float tanh(float a) {
  const float m = std::fabs(a);
  const float a2 = a * a;
  float p = -5.70498872745e-3f;
  p = p * a2 + 2.06390887954e-2f;
  p = p * a2 - 5.37397155531e-2f;
  p = p * a2 + 1.33314422036e-1f;
  p = p * a2 - 3.33332819422e-1f;
  const float small = p * a2 * m + m;
  const float e2 = exp_minus(2.0f * m);
  const float large = (1.0f - e2) / (1.0f + e2);
  return std::copysign(select(m < 0.625f, small, large), a);
}

// sigmoid(b) = 1 / (1 + e^{-b}) for any b, from e^{-|b|}.
inline float sigmoid(float b) {
  const float eb = exp_minus(std::fabs(b));
  return (b >= 0.0f ? 1.0f : eb) / (1.0f + eb);
}

// tanh(a) sigmoid(b), the gated activation (model/pixel_context.h).
inline float tanh_times_sigmoid(float a, float b) {
  return tanh(a) * sigmoid(b);
}

}  // namespace vae::fast_math
