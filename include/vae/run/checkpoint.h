// Checkpoints: one LibTorch archive holding the model's parameters, Adam's
// state, the RNG states, the epoch and step counters, the metrics history and
// the run's config. Written atomically (temp file + rename), so a run killed
// at any moment leaves the previous checkpoint whole.
#pragma once

#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "vae/model/vae_model.h"
#include "vae/objective/weight_average.h"
#include "vae/run/metrics.h"

namespace vae {

// Version 2 added the state of an epoch stopped part-way (a signal) and a
// CRC-32 trailer after the archive, checked before LibTorch parses anything;
// files without it (version 1, or damaged) are refused.
constexpr int64_t kCheckpointVersion = 2;

// Where a run stopped inside epoch `epoch + 1` (Ctrl-C or SIGTERM): resuming
// goes on from the next batch of the same data order, with the epoch's sums
// so far, and reaches the numbers of an uninterrupted run.
struct PartialEpoch {
  int64_t batches = 0;  // batches done in the epoch
  int64_t images = 0;
  torch::Tensor sums;   // float [3]: loss, recon, KL weighted by batch size
  torch::Tensor order;  // int64 [N]: the epoch's permutation of the training set
  double seconds = 0.0;
  // --batch-size auto: the epoch's norm tests so far, summed.
  double norm_noise = 0.0, norm_signal = 0.0;
  int64_t norm_tests = 0;
};

struct TrainingState {
  nlohmann::json config;  // to_json(TrainConfig)
  int64_t epoch = 0;      // epochs completed
  int64_t step = 0;       // optimisation steps completed
  std::vector<EpochMetrics> history;
  bool has_partial = false;
  PartialEpoch partial;  // when has_partial
};

// Saves model, optimizer, state and the default generators' states (CPU, and
// the CUDA generator of `device` when it is a CUDA device), and the weight
// average (--ema-decay) when there is one.
void save_checkpoint(const std::string& path, VAE& model, torch::optim::Optimizer& optimizer,
                     const TrainingState& state, torch::Device device,
                     const WeightAverage* average = nullptr);

class Checkpoint {
 public:
  // Opens and checks a checkpoint (format, version, metadata). Tensors are
  // mapped to `device`. Throws vae::Error with one line when the file is
  // missing, truncated, corrupt, or not a vae checkpoint.
  Checkpoint(const std::string& path, torch::Device device = torch::kCPU);

  // The same from the bytes of a checkpoint file read elsewhere (rank 0
  // reads it and broadcasts it to the other ranks); `path` names it in
  // messages.
  static Checkpoint from_bytes(const std::string& bytes, const std::string& path,
                               torch::Device device = torch::kCPU);

  const TrainingState& state() const { return state_; }
  const std::string& path() const { return path_; }

  // Copies the trained parameters into `model`, which must have been built
  // with the same architecture; mismatched names or shapes throw vae::Error.
  void load_model(VAE& model) const;
  // Restores the weight average of a run that keeps one (--ema-decay).
  void load_average(WeightAverage& average) const;
  // Puts the weight average, where the run kept one, into `model`'s
  // parameters (the served model); false (model untouched) where it kept none.
  bool load_average_into(VAE& model) const;
  void load_optimizer(torch::optim::Optimizer& optimizer) const;
  // Restores the default generators saved with the checkpoint.
  void restore_rng(torch::Device device) const;

 private:
  Checkpoint(const std::string& path, const std::string* bytes, torch::Device device);

  std::string path_;
  std::shared_ptr<torch::serialize::InputArchive> archive_;
  TrainingState state_;
};

// Builds the model a checkpoint's config describes and loads the weights it
// serves: the weight average where the run kept one, else the trained ones.
VAE load_model_from_checkpoint(const Checkpoint& checkpoint, torch::Device device);

}  // namespace vae
