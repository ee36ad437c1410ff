// The training run behind vae::train (trainer.h), as a class with named
// phases; trainer_prepare.cpp holds the preparation, trainer.cpp the epochs.
// Internal to the trainer's sources.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "epoch_watch.h"
#include "vae/objective/weight_average.h"
#include "vae/run/checkpoint.h"
#include "vae/run/metrics.h"
#include "vae/run/run_setup.h"
#include "vae/runtime/interrupt.h"
#include "vae/runtime/progress.h"
#include "vae/training/gradient_reducer.h"
#include "vae/training/train_step.h"
#include "vae/training/trainer.h"

namespace vae::training {

using Clock = std::chrono::steady_clock;

// Seed of the latent codes drawn for samples.png: fixed, so that runs can be
// compared picture by picture.
constexpr uint64_t kSampleSeed = 7;
// images/epoch_NNN.png: 32 prior samples and 8 test reconstructions.
constexpr int64_t kSnapshotSamples = 32;
constexpr int64_t kSnapshotImages = 8;

// --batch-size auto: micro-batches per norm test, and tests per epoch. Four
// parts estimate the variance with 3 degrees of freedom per coordinate; an
// epoch averages its tests. A part's products are a quarter of the batch's,
// slower per image on a CPU, so only about kNormTestsPerEpoch steps of each
// epoch are tested, spread evenly (every step once the batch leaves fewer).
constexpr int64_t kNormTestParts = 4;
constexpr int64_t kNormTestsPerEpoch = 32;

// metrics.csv and kl_per_dim.csv from the history.
void write_run_files(const std::string& run_dir, const std::vector<EpochMetrics>& history,
                     double active_threshold, const std::vector<int64_t>& layer_dims);

// One training run, in the order it happens: prepare (runtime, data, run
// directory, model, resume), then per epoch run the steps, evaluate, warn
// and write the outputs, and at the end the samples and the summary line.
// Rank 0 leads in data-parallel runs: it logs and writes the run's files.
class Trainer {
 public:
  Trainer(TrainConfig config, const TrainOptions& options)
      : config_(std::move(config)),
        options_(options),
        comm_(options.comm),
        world_(comm_ != nullptr ? comm_->world_size() : 1),
        lead_(comm_ == nullptr || comm_->rank() == 0),
        log_(!lead_                   ? quiet_
             : options.log != nullptr ? *options.log
                                      : std::cout) {}

  TrainResult run();

 private:
  void prepare_runtime();
  void prepare_data();
  void prepare_run_directory();
  void prepare_model();
  void restore_or_start();
  // The epoch's steps, from the first or (resumed) a later batch; the
  // training half of its metrics. Throws Interrupted when a signal stops it
  // inside the epoch, after saving the checkpoint.
  EpochMetrics run_epoch(int64_t epoch);
  // The bound epoch `epoch` trains: --objective, or from --iwae-from-epoch
  // on the IWAE bound.
  Objective objective_of(int64_t epoch) const;
  // One optimisation step on batch i at schedule position `at` (see
  // schedule_step); true when a signal asks to stop.
  bool train_on_batch(int64_t i, double beta, int64_t at, EpochSums& sums);
  // Where the step schedules (KL weight, temperature, learning rate) stand
  // before a step of `epoch` that follows `images` of its images: the step
  // count, or with --batch-size auto the steps a run at --batch-min would
  // have taken by then (images seen / batch-min), so that the schedules
  // keep their meaning when the batch grows.
  int64_t schedule_step(int64_t epoch, int64_t images) const;
  // --batch-size auto: the batch for the epoch after m, from m's norm tests.
  int64_t batch_after(const EpochMetrics& m) const;
  // The validation set (every epoch), then the test set where the epoch is
  // due (--eval-every); an epoch not scored gets tested = false.
  void evaluate_epoch(EpochMetrics& m, bool test_due);
  // -L_k of the validation set (k = --iw-samples), the model as it is.
  double validation_iwae();
  // The test set's numbers into m (tested = true).
  void evaluate_test(EpochMetrics& m);
  // With --ema-decay, puts the weight average into the model for the
  // caller's scope (scoring, pictures); without, does nothing.
  void use_average(std::optional<WeightAverage::Applied>& scope);
  void warn(const EpochMetrics& m);
  // The latent units the monitor counts: the family's, or every coordinate
  // of a hierarchy's code.
  int64_t units() const;
  void write_outputs(const EpochMetrics& m);
  // True for a learning-rate schedule other than a constant rate.
  bool scheduled_lr() const;
  // True when --time-budget leaves no room for another epoch as long as the
  // last (training and evaluation); `why` then says so, for the log.
  bool out_of_time(std::string& why);
  // True once the last epoch trained the IWAE bound and was validated on
  // it: the best model is then the best of those epochs by validation -L_k.
  bool best_by_iwae() const;
  // The epoch of the best validation -ELBO so far (best_by_iwae: -L_k; the
  // first of equals); nullptr without a validation set.
  const EpochMetrics* best_epoch() const;
  // True when --patience epochs have passed since best_epoch(); `why` says so.
  bool out_of_patience(std::string& why);
  void finish();
  Interrupted interrupted(const std::string& where) const;

  TrainConfig config_;
  const TrainOptions& options_;
  Communicator* comm_;
  const int64_t world_;
  const bool lead_;
  std::ostream quiet_{nullptr};
  std::ostream& log_;

  torch::Device device_ = torch::kCPU;
  RunData data_;
  std::string run_dir_, checkpoint_path_;
  VAE model_{nullptr};
  std::unique_ptr<TrainStep> step_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<WeightAverage> average_;  // --ema-decay
  std::optional<Batcher> train_batches_, test_batches_, valid_batches_;
  TrainingState state_;
  torch::Tensor snapshot_x_;  // the same test images every epoch
  std::optional<NonFiniteWatch> watch_;
  const InterruptGuard* interrupt_ = nullptr;
  bool stop_after_epoch_ = false;
  // --batch-size auto: the epoch's norm tests so far, summed.
  double norm_noise_ = 0.0, norm_signal_ = 0.0;
  int64_t norm_tests_ = 0;
};

}  // namespace vae::training
