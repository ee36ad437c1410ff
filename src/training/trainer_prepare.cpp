#include <torch/cuda.h>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "trainer_run.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/runtime.h"
#include "vae/views/latent_views.h"

namespace vae::training {

void Trainer::prepare_runtime() {
  validate(config_);
  if (config_.batch_auto && comm_ != nullptr) {
    throw Error(
        "--batch-size auto trains in one process; give data-parallel runs a fixed "
        "--batch-size");
  }
  if (!config_.batch_auto && config_.batch_size < world_) {
    throw Error("--batch-size " + std::to_string(config_.batch_size) +
                " is smaller than the number of processes (" + std::to_string(world_) +
                "): every rank needs at least one image of each batch");
  }
  std::string device_note;
  device_ = select_device(config_.device, &device_note);
  if (device_.is_cuda() && comm_ != nullptr) {
    device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                              options_.local_rank % torch::cuda::device_count()));
  }
  if (comm_ != nullptr && comm_->device().type() != device_.type()) {
    throw Error("the process group was made for " + comm_->device().str() +
                ", but the run trains on " + device_.str());
  }
  const int64_t threads = configure_threads(
      config_.threads > 0 ? config_.threads
                          : std::max<int64_t>(1, available_cpus() / options_.local_processes));
  const BlasInfo blas = detect_blas();
  log_ << "vae " VAE_VERSION " | " << describe_runtime(device_, threads, blas) << '\n';
  if (!device_note.empty()) log_ << "note: " << device_note << '\n';
  if (comm_ != nullptr) {
    log_ << "data parallel: " << world_ << " processes (" << comm_->backend() << "), global batch "
         << config_.batch_size << " = " << shard_of(config_.batch_size, 0, world_).count
         << " per rank\n";
  }
  if (blas.is_reference && !device_.is_cuda()) {
    log_ << "WARNING: the reference BLAS (" << blas.path
         << ") is active: training will be about 15x slower. Install libopenblas0-openmp "
            "(scripts/setup.sh does).\n";
  }
}

void Trainer::prepare_data() {
  data_ = load_run_data(config_, lead_ ? &log_ : nullptr);
  const ImageDataset& train = data_.train;
  const NetworkOptions& o = config_.network;
  if (options_.resume && (o.in_channels() != train.channels() || o.height() != train.height() ||
                          o.width() != train.width())) {
    throw Error("--resume: the run was trained on " +
                shape_text(o.in_channels(), o.height(), o.width()) + " images, " + data_.dir +
                " holds " + shape_text(train.channels(), train.height(), train.width()));
  }
  fit_network_to_data(config_, train);
  // A count the likelihood gives no probability (binomial: above --trials);
  // a family that takes every 8-bit value needs no look.
  const int64_t most = config_.network.likelihood()->max_value({{}, config_.network.trials()});
  if (most < 255) {
    for (const auto& [name, set] : {std::pair<const char*, const ImageDataset*>{"training", &train},
                                    {"validation", &data_.valid},
                                    {"test", &data_.test}}) {
      const int64_t found = set->images.defined() ? set->images.max().item<int64_t>() : 0;
      if (found > most) {
        throw Error(std::string("the ") + name + " images hold the value " + std::to_string(found) +
                    ", more than --likelihood " + config_.network.likelihood()->name() +
                    " allows (--trials " + std::to_string(config_.network.trials()) + ")");
      }
    }
  }
  log_ << "data " << data_.dir << " (" << data_.description << "): " << train.size()
       << " training, "
       << (config_.valid_size > 0 ? std::to_string(config_.valid_size) + " validation, " : "")
       << data_.test.size() << " test images of "
       << shape_text(train.channels(), train.height(), train.width()) << ", binarize "
       << to_string(config_.binarize) << '\n';
}

void Trainer::prepare_run_directory() {
  run_dir_ = run_directory(config_);
  config_.out = run_dir_;
  checkpoint_path_ = run_dir_ + "/checkpoint.pt";
  if (lead_ && !options_.resume && !options_.overwrite &&
      std::filesystem::exists(checkpoint_path_)) {
    throw Error(run_dir_ +
                " already holds a run; continue it with --resume, or pass --overwrite "
                "or another --out");
  }
  if (!lead_) return;
  create_directories(run_dir_);
  // A run killed during a write leaves its temporary file behind.
  const int stale = remove_stale_temporaries(run_dir_);
  if (stale > 0) {
    log_ << "removed " << stale << " temporary file" << (stale == 1 ? "" : "s")
         << " left by an interrupted write\n";
  }
}

void Trainer::prepare_model() {
  model_ = make_model(config_, device_);
  if (comm_ != nullptr) {
    // The same seed gives the same initial values everywhere; rank 0's are
    // sent anyway, as PyTorch's DDP does, so that no rank can start apart.
    broadcast_tensors(*comm_, model_->parameters());
    broadcast_tensors(*comm_, model_->buffers());
  }
  step_ = std::make_unique<TrainStep>(model_, config_, comm_);
  if (config_.ema_decay > 0.0)
    average_ = std::make_unique<WeightAverage>(*model_, config_.ema_decay);
  log_ << "train step: " << step_->describe() << '\n';
  if (comm_ != nullptr) {
    reducer_ = std::make_unique<GradientReducer>(*comm_, model_->parameters());
    const double idle_ms = reducer_->idle_all_reduce_ms(20);
    log_ << "gradient all-reduce: " << fixed(static_cast<double>(reducer_->bytes()) / 1e6, 2)
         << " MB in " << reducer_->buckets() << (reducer_->buckets() == 1 ? " bucket" : " buckets")
         << ", " << fixed(idle_ms, 2) << " ms when no rank is busy\n";
  }
  train_batches_.emplace(training_batches(config_, data_.train, device_));
  test_batches_.emplace(evaluation_batches(config_, data_.test, device_));
  if (config_.valid_size > 0)
    valid_batches_.emplace(evaluation_batches(config_, data_.valid, device_));
  config_.kl.total_steps = config_.epochs * train_batches_->num_batches();
  config_.lr_schedule.steps_per_epoch = train_batches_->num_batches();
  config_.lr_schedule.total_steps = config_.kl.total_steps;
}

void Trainer::restore_or_start() {
  if (options_.resume) {
    // Rank 0 reads the checkpoint and sends its bytes: the other ranks may
    // run on machines that do not see the run directory.
    std::string bytes = lead_ ? read_file(checkpoint_path_) : std::string();
    if (comm_ != nullptr) bytes = comm_->broadcast_string(bytes);
    const Checkpoint checkpoint = Checkpoint::from_bytes(bytes, checkpoint_path_, device_);
    checkpoint.load_model(model_);
    if (average_) checkpoint.load_average(*average_);
    checkpoint.load_optimizer(step_->optimizer());
    checkpoint.restore_rng(device_);
    state_ = checkpoint.state();
    // --batch-size auto: the batch the last epoch chose.
    if (config_.batch_auto && !state_.history.empty())
      train_batches_->set_batch_size(batch_after(state_.history.back()));
    log_ << "resuming " << run_dir_ << " after epoch " << state_.epoch << " (step " << state_.step
         << ")\n";
  }
  state_.config = to_json(config_);
  if (lead_) {
    write_file_atomically(run_dir_ + "/config.json", state_.config.dump(2) + "\n");
    write_run_files(run_dir_, state_.history, config_.active_threshold,
                    config_.network.layer_dims());
    create_directories(run_dir_ + "/images");
  }
  snapshot_x_ =
      test_batches_->batch(0).narrow(0, 0, std::min<int64_t>(kSnapshotImages, data_.test.size()));
  watch_.emplace(device_);
}

void write_run_files(const std::string& run_dir, const std::vector<EpochMetrics>& history,
                     double active_threshold, const std::vector<int64_t>& layer_dims) {
  write_file_atomically(run_dir + "/metrics.csv", metrics_csv(history));
  write_file_atomically(run_dir + "/kl_per_dim.csv",
                        kl_per_dim_csv(history, active_threshold, layer_dims));
}

}  // namespace vae::training
