#include "vae/objective/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "vae/runtime/error.h"

namespace vae {

const NameTable<LrScheduleType>& lr_schedules() {
  static const NameTable<LrScheduleType> table("--lr-schedule",
                                               {{LrScheduleType::kConstant, "constant"},
                                                {LrScheduleType::kCosine, "cosine"},
                                                {LrScheduleType::kExponential, "exponential"},
                                                {LrScheduleType::kBurda, "burda"}});
  return table;
}

std::string to_string(LrScheduleType type) {
  return lr_schedules().name(type);
}

void LrSchedule::validate(double base) const {
  if (!(base > 0.0) || !std::isfinite(base)) throw Error("--lr must be a positive number");
  if (warmup_steps < 0) throw Error("--lr-warmup-steps must be >= 0");
  if (!(min >= 0.0 && min <= base)) {
    std::ostringstream text;
    text << "--lr-min must be between 0 and --lr (" << base << ")";
    throw Error(text.str());
  }
  if (!(decay > 0.0 && decay <= 1.0)) throw Error("--lr-decay must be in (0, 1]");
}

double LrSchedule::rate(int64_t step, double base) const {
  const double t = static_cast<double>(std::max<int64_t>(step, 0));
  const double warmup =
      warmup_steps > 0 ? std::min(1.0, (t + 1.0) / static_cast<double>(warmup_steps)) : 1.0;
  const double epochs =
      steps_per_epoch > 0 ? t / static_cast<double>(steps_per_epoch) : 0.0;  // unknown: none
  double lr = base;
  switch (type) {
    case LrScheduleType::kConstant:
      break;
    case LrScheduleType::kCosine: {
      const double u = total_steps > 0 ? std::min(1.0, t / static_cast<double>(total_steps)) : 0.0;
      lr = min + (base - min) * 0.5 * (1.0 + std::cos(M_PI * u));
      break;
    }
    case LrScheduleType::kExponential:
      lr = base * std::pow(decay, epochs);
      break;
    case LrScheduleType::kBurda: {
      // Stage i starts at epoch (3^i - 1) / 2.
      const double epoch = std::floor(epochs);
      int stage = 0;
      for (double next = 1.0, length = 3.0; epoch >= next; next += length, length *= 3.0)
        ++stage;
      lr = base * std::pow(10.0, -stage / 7.0);
      break;
    }
  }
  return lr * warmup;
}

}  // namespace vae
