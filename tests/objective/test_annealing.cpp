#include "vae/objective/annealing.h"

#include <gtest/gtest.h>

#include <cmath>

#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(Annealing, ConstantIsBetaEverywhere) {
  KlSchedule s;
  s.beta = 0.7;
  EXPECT_DOUBLE_EQ(s.weight(0), 0.7);
  EXPECT_DOUBLE_EQ(s.weight(123456), 0.7);
}

TEST(Annealing, LinearRampsToBetaThenStays) {
  KlSchedule s;
  s.type = KlScheduleType::kLinear;
  s.beta = 2.0;
  s.warmup_steps = 100;
  EXPECT_DOUBLE_EQ(s.weight(0), 0.0);
  EXPECT_DOUBLE_EQ(s.weight(25), 0.5);
  EXPECT_DOUBLE_EQ(s.weight(50), 1.0);
  EXPECT_DOUBLE_EQ(s.weight(100), 2.0);
  EXPECT_DOUBLE_EQ(s.weight(5000), 2.0);
}

TEST(Annealing, SigmoidIsCentredOnHalfTheWarmup) {
  KlSchedule s;
  s.type = KlScheduleType::kSigmoid;
  s.warmup_steps = 1000;
  EXPECT_NEAR(s.weight(0), 1.0 / (1.0 + std::exp(5.0)), 1e-12);  // 0.0067
  EXPECT_DOUBLE_EQ(s.weight(500), 0.5);
  EXPECT_NEAR(s.weight(1000), 1.0 / (1.0 + std::exp(-5.0)), 1e-12);  // 0.9933
  for (int64_t t = 1; t < 2000; t += 37)
    EXPECT_GT(s.weight(t), s.weight(t - 1));
}

TEST(Annealing, CyclicalFollowsFuEtAl) {
  // T = 1000 steps, M = 4 cycles of 250 steps, R = 0.5: ramp over 125 steps.
  KlSchedule s;
  s.type = KlScheduleType::kCyclical;
  s.total_steps = 1000;
  s.cycles = 4;
  s.ratio = 0.5;
  for (int cycle = 0; cycle < 4; ++cycle) {
    const int64_t start = cycle * 250;
    EXPECT_DOUBLE_EQ(s.weight(start), 0.0) << cycle;
    EXPECT_DOUBLE_EQ(s.weight(start + 25), 0.2) << cycle;
    EXPECT_DOUBLE_EQ(s.weight(start + 62), 62.0 / 125.0) << cycle;
    EXPECT_DOUBLE_EQ(s.weight(start + 125), 1.0) << cycle;
    EXPECT_DOUBLE_EQ(s.weight(start + 249), 1.0) << cycle;
  }
}

TEST(Annealing, RejectsSchedulesThatMakeNoSense) {
  KlSchedule s;
  s.type = KlScheduleType::kLinear;
  EXPECT_THROW(s.validate(), Error);  // no warm-up length
  s.type = KlScheduleType::kCyclical;
  s.ratio = 0.0;
  EXPECT_THROW(s.validate(), Error);
  s.ratio = 0.5;
  s.cycles = 0;
  EXPECT_THROW(s.validate(), Error);
  s.cycles = 2;
  EXPECT_NO_THROW(s.validate());
  s.beta = -1.0;
  EXPECT_THROW(s.validate(), Error);
  EXPECT_THROW(parse_kl_schedule("cosine"), Error);
  EXPECT_EQ(to_string(parse_kl_schedule("sigmoid")), "sigmoid");
}

TEST(Annealing, TemperatureFollowsJangEtAl) {
  const TemperatureSchedule tau{1.0, 0.5, 1e-4};
  EXPECT_DOUBLE_EQ(tau.value(0), 1.0);
  EXPECT_DOUBLE_EQ(tau.value(1000), std::exp(-0.1));
  // The floor from ln 2 / r = 6931.5 steps on.
  EXPECT_GT(tau.value(6931), 0.5);
  EXPECT_DOUBLE_EQ(tau.value(6932), 0.5);
  EXPECT_DOUBLE_EQ(tau.value(1000000), 0.5);
  const TemperatureSchedule fixed{0.7, 0.7, 0.0};
  EXPECT_DOUBLE_EQ(fixed.value(12345), 0.7);
  EXPECT_THROW((TemperatureSchedule{0.4, 0.5, 1e-4}.validate()), Error);
  EXPECT_NO_THROW(tau.validate());
}

}  // namespace
}  // namespace vae
