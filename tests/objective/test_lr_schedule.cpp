#include "vae/objective/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"

namespace vae {
namespace {

LrSchedule schedule(LrScheduleType type) {
  LrSchedule s;
  s.type = type;
  s.steps_per_epoch = 10;
  s.total_steps = 100;
  return s;
}

TEST(LrSchedule, ConstantWithAWarmUp) {
  LrSchedule s = schedule(LrScheduleType::kConstant);
  EXPECT_DOUBLE_EQ(s.rate(0, 0.01), 0.01);
  EXPECT_DOUBLE_EQ(s.rate(99999, 0.01), 0.01);
  s.warmup_steps = 4;
  // (t + 1) / W: the first step already moves.
  EXPECT_DOUBLE_EQ(s.rate(0, 0.01), 0.0025);
  EXPECT_DOUBLE_EQ(s.rate(1, 0.01), 0.005);
  EXPECT_DOUBLE_EQ(s.rate(3, 0.01), 0.01);
  EXPECT_DOUBLE_EQ(s.rate(50, 0.01), 0.01);
}

TEST(LrSchedule, CosineFallsFromTheBaseToTheFloorOverTheRun) {
  LrSchedule s = schedule(LrScheduleType::kCosine);
  s.min = 0.001;
  EXPECT_DOUBLE_EQ(s.rate(0, 0.011), 0.011);
  EXPECT_DOUBLE_EQ(s.rate(50, 0.011), 0.006);  // half way: the mean of the two
  EXPECT_NEAR(s.rate(25, 0.011), 0.001 + 0.01 * 0.5 * (1.0 + std::cos(M_PI / 4.0)), 1e-15);
  EXPECT_DOUBLE_EQ(s.rate(100, 0.011), 0.001);
  EXPECT_DOUBLE_EQ(s.rate(150, 0.011), 0.001);  // past the end (a longer resumed run)
}

TEST(LrSchedule, ExponentialDecaysByTheFactorEachEpoch) {
  LrSchedule s = schedule(LrScheduleType::kExponential);
  s.decay = 0.5;
  EXPECT_DOUBLE_EQ(s.rate(0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(s.rate(10, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(s.rate(30, 1.0), 0.125);
  EXPECT_DOUBLE_EQ(s.rate(5, 1.0), std::sqrt(0.5));
}

// Burda et al. 2015: 3^i epochs at 10^(-i/7) for i = 0..7.
TEST(LrSchedule, BurdaStagesLastThreeToThePowerIEpochs) {
  const LrSchedule s = schedule(LrScheduleType::kBurda);
  const auto at_epoch = [&](int64_t epoch) { return s.rate(epoch * 10 + 3, 1e-3); };
  const auto stage = [](int i) { return 1e-3 * std::pow(10.0, -i / 7.0); };
  EXPECT_DOUBLE_EQ(at_epoch(0), stage(0));
  for (int64_t e : {1, 2, 3})
    EXPECT_DOUBLE_EQ(at_epoch(e), stage(1)) << e;
  EXPECT_DOUBLE_EQ(at_epoch(4), stage(2));
  EXPECT_DOUBLE_EQ(at_epoch(12), stage(2));
  EXPECT_DOUBLE_EQ(at_epoch(13), stage(3));
  EXPECT_DOUBLE_EQ(at_epoch(1092), stage(6));
  EXPECT_DOUBLE_EQ(at_epoch(1093), stage(7));  // the last stage, to epoch 3,279
  EXPECT_DOUBLE_EQ(at_epoch(3279), stage(7));
}

TEST(LrSchedule, RefusesWhatMakesNoSchedule) {
  LrSchedule s;
  EXPECT_EQ(testing::error_of([&] { s.validate(0.0); }), "--lr must be a positive number");
  s.min = 0.1;
  EXPECT_EQ(testing::error_of([&] { s.validate(0.01); }),
            "--lr-min must be between 0 and --lr (0.01)");
  s.min = 0.0;
  s.decay = 1.5;
  EXPECT_EQ(testing::error_of([&] { s.validate(0.01); }), "--lr-decay must be in (0, 1]");
  s.decay = 0.9;
  s.warmup_steps = -1;
  EXPECT_EQ(testing::error_of([&] { s.validate(0.01); }), "--lr-warmup-steps must be >= 0");
  EXPECT_EQ(lr_schedules().parse("burda"), LrScheduleType::kBurda);
}

}  // namespace
}  // namespace vae
