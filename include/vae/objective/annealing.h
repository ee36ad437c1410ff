// KL weight schedules against posterior collapse: the weight beta(t) of the
// KL term at optimisation step t (counted from 0).
//   constant : beta
//   linear   : beta * min(1, t / warmup)                (Bowman et al. 2016)
//   sigmoid  : beta * s(10 (t / warmup - 1/2)), s = logistic: 0.7% of beta at
//              t = 0, half at warmup / 2, 99.3% at warmup
//   cyclical : M cycles over the whole run of T steps; in each, a linear ramp
//              from 0 to beta over the first fraction R, then beta
//              (Fu et al. 2019, "Cyclical Annealing Schedule", eq. 5)
#pragma once

#include <cstdint>
#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

enum class KlScheduleType { kConstant, kLinear, kSigmoid, kCyclical };

const NameTable<KlScheduleType>& kl_schedules();
KlScheduleType parse_kl_schedule(const std::string& name);
std::string to_string(KlScheduleType type);

struct KlSchedule {
  KlScheduleType type = KlScheduleType::kConstant;
  double beta = 1.0;         // the final (maximum) weight
  int64_t warmup_steps = 0;  // linear, sigmoid
  int64_t cycles = 4;        // cyclical: M
  double ratio = 0.5;        // cyclical: R, the ramp's share of a cycle
  int64_t total_steps = 0;   // cyclical: T, the run's length in steps

  // Throws vae::Error for parameters that make no schedule.
  void validate() const;
  double weight(int64_t step) const;
};

// The Gumbel-softmax temperature at step t (Jang et al. 2017, sec. 4.1:
// tau = max(0.5, exp(-r t)), there updated every 1000 steps, here every step):
//   tau(t) = max(tau_min, tau_start exp(-rate t)).
struct TemperatureSchedule {
  double start = 1.0;
  double min = 0.5;
  double rate = 3e-5;

  // Throws vae::Error for parameters that make no schedule.
  void validate() const;
  double value(int64_t step) const;
};

}  // namespace vae
