// `vae train`: minibatch Adam on the negative ELBO, with KL annealing, a
// posterior-collapse monitor on the test set after every epoch, metrics,
// atomic checkpoints and exact resume.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "vae/config.h"
#include "vae/metrics.h"
#include "vae/vae_model.h"

namespace vae {

struct TrainOptions {
  bool resume = false;          // continue the run in the run directory
  bool overwrite = false;       // start afresh even if the run directory holds a run
  std::ostream* log = nullptr;  // progress and summaries; nullptr: std::cout
  // Test seam: called after every optimisation step with the global step.
  std::function<void(int64_t step, VAE& model)> after_step;
};

struct TrainResult {
  std::string run_dir;
  std::vector<EpochMetrics> history;
};

// Trains as `config` says. With options.resume the run continues from
// <run dir>/checkpoint.pt (config: see resume_config). Throws vae::Error.
TrainResult train(TrainConfig config, const TrainOptions& options = {});

// The config of the run saved in `run_dir`, with `overrides` applied. Only
// settings that do not change the numbers may differ: epochs (to extend a
// run), device, threads, data-dir, log-interval, samples. Any other
// override that differs from the saved value throws vae::Error.
TrainConfig resume_config(const std::string& run_dir, const nlohmann::json& overrides);

}  // namespace vae
