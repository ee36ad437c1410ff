#include "vae/objective/annealing.h"

#include <algorithm>
#include <cmath>

#include "vae/runtime/error.h"

namespace vae {

const NameTable<KlScheduleType>& kl_schedules() {
  static const NameTable<KlScheduleType> table("--kl-schedule",
                                               {{KlScheduleType::kConstant, "constant"},
                                                {KlScheduleType::kLinear, "linear"},
                                                {KlScheduleType::kSigmoid, "sigmoid"},
                                                {KlScheduleType::kCyclical, "cyclical"}});
  return table;
}

KlScheduleType parse_kl_schedule(const std::string& name) {
  return kl_schedules().parse(name);
}

std::string to_string(KlScheduleType type) {
  return kl_schedules().name(type);
}

void KlSchedule::validate() const {
  if (!(beta >= 0.0) || !std::isfinite(beta)) throw Error("--beta must be a finite number >= 0");
  if ((type == KlScheduleType::kLinear || type == KlScheduleType::kSigmoid) && warmup_steps <= 0) {
    throw Error("--kl-schedule " + to_string(type) + " needs --kl-warmup-steps > 0");
  }
  if (type == KlScheduleType::kCyclical) {
    if (cycles <= 0) throw Error("--kl-cycles must be positive");
    if (!(ratio > 0.0 && ratio <= 1.0)) throw Error("--kl-ratio must be in (0, 1]");
  }
}

double KlSchedule::weight(int64_t step) const {
  const double t = static_cast<double>(std::max<int64_t>(step, 0));
  switch (type) {
    case KlScheduleType::kConstant:
      return beta;
    case KlScheduleType::kLinear:
      return beta * std::min(1.0, t / static_cast<double>(warmup_steps));
    case KlScheduleType::kSigmoid: {
      const double u = t / static_cast<double>(warmup_steps);
      return beta / (1.0 + std::exp(-10.0 * (u - 0.5)));
    }
    case KlScheduleType::kCyclical: {
      if (total_steps <= 0) return beta;  // run length unknown: no cycles
      const double period = static_cast<double>(total_steps) / static_cast<double>(cycles);
      const double tau = std::fmod(t, period) / period;  // position within the cycle, [0, 1)
      return beta * std::min(1.0, tau / ratio);
    }
  }
  return beta;
}

void TemperatureSchedule::validate() const {
  if (!(start > 0.0) || !std::isfinite(start)) throw Error("--tau-start must be a positive number");
  if (!(min > 0.0) || !std::isfinite(min)) throw Error("--tau-min must be a positive number");
  if (min > start) {
    throw Error("--tau-min (" + std::to_string(min) + ") must not exceed --tau-start (" +
                std::to_string(start) + ")");
  }
  if (!(rate >= 0.0) || !std::isfinite(rate))
    throw Error("--tau-anneal-rate must be a finite number >= 0");
}

double TemperatureSchedule::value(int64_t step) const {
  const double t = static_cast<double>(std::max<int64_t>(step, 0));
  return std::max(min, start * std::exp(-rate * t));
}

}  // namespace vae
