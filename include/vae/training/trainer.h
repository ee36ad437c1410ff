// `vae train`: minibatch Adam on the negative ELBO, with KL annealing, a
// posterior-collapse monitor on the test set after every epoch, metrics,
// atomic checkpoints and exact resume.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "vae/model/vae_model.h"
#include "vae/run/config.h"
#include "vae/run/metrics.h"
#include "vae/run/resume.h"
#include "vae/runtime/distributed.h"

namespace vae {

struct TrainOptions {
  bool resume = false;          // continue the run in the run directory
  bool overwrite = false;       // start afresh even if the run directory holds a run
  std::ostream* log = nullptr;  // progress and summaries; nullptr: std::cout
  // Test seam: called after every optimisation step with the global step.
  std::function<void(int64_t step, VAE& model)> after_step;
  // Data-parallel training: this process's membership of the group (see
  // distributed.h); nullptr trains in this process alone. Every rank takes
  // its shard of each global batch of config.batch_size; rank 0 logs and
  // writes the run's files.
  Communicator* comm = nullptr;
  // Processes sharing this machine's CPUs: with threads = 0 each takes its
  // share of them.
  int64_t local_processes = 1;
  // This process's place among them: on CUDA it trains on GPU
  // local_rank % (visible GPUs).
  int64_t local_rank = 0;
};

struct TrainResult {
  std::string run_dir;
  std::vector<EpochMetrics> history;
};

// Trains as `config` says. With options.resume the run continues from
// <run dir>/checkpoint.pt (config: see resume_config; with several ranks,
// rank 0 reads it and sends it to the others). Throws vae::Error.
TrainResult train(TrainConfig config, const TrainOptions& options = {});

}  // namespace vae
