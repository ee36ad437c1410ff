// Learning-rate schedules for long runs: Adam's rate at optimisation step t
// (counted from 0), from the base rate --lr:
//   constant    : lr
//   cosine      : m + (lr - m) (1 + cos(pi t / T)) / 2 over the run's T
//                 steps, m = --lr-min (Loshchilov & Hutter 2017, SGDR
//                 without restarts)
//   exponential : lr gamma^(t / S), gamma = --lr-decay per epoch of S steps
//   burda       : lr 10^(-i/7) in stage i = 0, 1, .., which lasts 3^i epochs
//                 (Burda et al. 2015, sec. 5: stages 0..7, 3,280 epochs)
// each times a linear warm-up min(1, (t + 1) / W) over the first W =
// --lr-warmup-steps steps. A function of the step alone, so a resumed run
// takes the same rates.
#pragma once

#include <cstdint>
#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

enum class LrScheduleType { kConstant, kCosine, kExponential, kBurda };

const NameTable<LrScheduleType>& lr_schedules();
std::string to_string(LrScheduleType type);

struct LrSchedule {
  LrScheduleType type = LrScheduleType::kConstant;
  int64_t warmup_steps = 0;
  double min = 0.0;    // cosine: the rate at the run's end
  double decay = 0.9;  // exponential: the factor per epoch
  // Filled in by the trainer from the data and --epochs.
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;

  // Throws vae::Error for parameters that make no schedule (base: --lr).
  void validate(double base) const;
  double rate(int64_t step, double base) const;
};

}  // namespace vae
