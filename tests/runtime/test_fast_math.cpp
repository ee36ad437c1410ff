#include "vae/runtime/fast_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vae {
namespace {

// Largest relative error of f against `exact` (double) over `points` values
// spread evenly over [lo, hi], both ends included.
template <typename F, typename G>
double max_relative_error(F f, G exact, double lo, double hi, int points) {
  double worst = 0.0;
  for (int i = 0; i < points; ++i) {
    const float v = static_cast<float>(lo + (hi - lo) * i / (points - 1));
    const double want = exact(static_cast<double>(v));
    worst = std::max(worst, std::abs(static_cast<double>(f(v)) - want) / std::abs(want));
  }
  return worst;
}

TEST(FastMath, ExpMinusIsWithinAFewUlps) {
  const auto f = [](float a) { return fast_math::exp_minus(a); };
  const auto exact = [](double a) { return std::exp(-a); };
  // Every range the loss meets: near 0, the reduction's boundaries, large
  // arguments down to where floats stay normal.
  EXPECT_LT(max_relative_error(f, exact, 0.0, 1e-3, 1001), 3e-7);
  EXPECT_LT(max_relative_error(f, exact, 0.0, 5.0, 100001), 3e-7);
  EXPECT_LT(max_relative_error(f, exact, 5.0, 87.0, 100001), 3e-7);
  EXPECT_EQ(fast_math::exp_minus(0.0f), 1.0f);
}

TEST(FastMath, ExpMinusOfHugeArgumentsIsTinyAndFinite) {
  // Saturated logits: e^-100 and e^-inf are 0 to float precision; the
  // result must be a tiny positive normal number, not NaN or a denormal.
  // NaN too: it must not reach the float-to-int conversion (undefined
  // behaviour, which UBSan reports).
  for (float a : {87.3f, 100.0f, 1e30f, std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()}) {
    const float e = fast_math::exp_minus(a);
    EXPECT_GT(e, 0.0f) << a;
    EXPECT_LT(e, 2e-38f) << a;
    EXPECT_TRUE(std::isnormal(e)) << a;
  }
}

TEST(FastMath, Log1pUnitIsWithinAFewUlps) {
  const auto f = [](float e) { return fast_math::log1p_unit(e); };
  const auto exact = [](double e) { return std::log1p(e); };
  EXPECT_LT(max_relative_error(f, exact, 1e-30, 1e-20, 1001), 3e-7);  // log1p(e) ~ e
  EXPECT_LT(max_relative_error(f, exact, 1e-8, 1e-3, 10001), 3e-7);
  EXPECT_LT(max_relative_error(f, exact, 1e-3, 1.0, 100001), 3e-7);
  EXPECT_EQ(fast_math::log1p_unit(0.0f), 0.0f);
}

TEST(FastMath, SoftplusFromBothIsAccurate) {
  // The loss's use: softplus(y) = max(y, 0) + log1p(exp(-|y|)) over logits
  // of either sign, against double precision.
  double worst = 0.0;
  for (int i = -20000; i <= 20000; ++i) {
    const float y = static_cast<float>(i) * 1e-3f;
    const float got = std::max(y, 0.0f) + fast_math::log1p_unit(fast_math::exp_minus(std::fabs(y)));
    const double want = std::log1p(std::exp(static_cast<double>(y)));
    worst = std::max(worst, std::abs(got - want) / want);
  }
  EXPECT_LT(worst, 5e-7);
}

TEST(FastMath, SigmoidIsWithinAFewUlpsOfItsValue) {
  // Relative error, so that the far negative tail (values near 1e-35) counts.
  const auto exact = [](double b) { return 1.0 / (1.0 + std::exp(-b)); };
  EXPECT_LT(max_relative_error(fast_math::sigmoid, exact, -80.0, 30.0, 110001), 5e-7);
}

TEST(FastMath, TanhTimesSigmoidIsAccurate) {
  // Against double precision: absolute error within a few float ulps of 1
  // over both arguments' ranges, both polynomial and exponential branches of
  // tanh, and relative error where tanh is small.
  const auto exact = [](double a, double b) { return std::tanh(a) / (1.0 + std::exp(-b)); };
  double worst = 0.0;
  for (float b : {-30.0f, -5.0f, -0.5f, 0.0f, 0.3f, 4.0f, 30.0f}) {
    for (int i = -20000; i <= 20000; ++i) {
      const float a = static_cast<float>(i) * 5e-4f;
      worst = std::max(worst, std::abs(fast_math::tanh_times_sigmoid(a, b) - exact(a, b)));
      worst = std::max(worst, std::abs(fast_math::tanh_times_sigmoid(b, a) - exact(b, a)));
    }
  }
  EXPECT_LT(worst, 4e-7);
  double relative = 0.0;
  for (int i = 1; i <= 10000; ++i) {
    const float a = static_cast<float>(i) * 1e-4f;  // up to 1, past the branch at 0.625
    for (float s : {1.0f, 1e-3f}) {
      const double want = exact(a * s, 0.0);
      relative = std::max(
          relative, std::abs(fast_math::tanh_times_sigmoid(a * s, 0.0f) - want) / std::abs(want));
    }
  }
  EXPECT_LT(relative, 5e-7);
  // Infinite inputs saturate instead of giving NaN.
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_NEAR(fast_math::tanh_times_sigmoid(inf, inf), 1.0f, 1e-7);
  EXPECT_NEAR(fast_math::tanh_times_sigmoid(-inf, inf), -1.0f, 1e-7);
  EXPECT_NEAR(fast_math::tanh_times_sigmoid(inf, -inf), 0.0f, 1e-30);
}

}  // namespace
}  // namespace vae
