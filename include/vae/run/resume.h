// --resume: the settings of a run saved in its directory.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "vae/run/config.h"

namespace vae {

// The config of the run saved in `run_dir`, with `overrides` applied. Only
// settings that do not change the numbers may differ: epochs (to extend a
// run), device, threads, data-dir, log-interval, samples, time-budget,
// patience. Any other
// override that differs from the saved value throws vae::Error.
TrainConfig resume_config(const std::string& run_dir, const nlohmann::json& overrides);

}  // namespace vae
