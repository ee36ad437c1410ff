#include "vae/trainer.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "vae/atomic_file.h"
#include "vae/batcher.h"
#include "vae/checkpoint.h"
#include "vae/error.h"
#include "vae/evaluation.h"
#include "vae/gradient_reducer.h"
#include "vae/image_grid.h"
#include "vae/interrupt.h"
#include "vae/latent_views.h"
#include "vae/mnist.h"
#include "vae/model_views.h"
#include "vae/progress.h"
#include "vae/runtime.h"
#include "vae/train_step.h"

namespace vae {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kEvalBatchSize = 1000;
// Seed of the latent codes drawn for samples.png: fixed, so that runs can be
// compared picture by picture.
constexpr uint64_t kSampleSeed = 7;
// images/epoch_NNN.png: 32 prior samples and 8 test reconstructions.
constexpr int64_t kSnapshotSamples = 32;
constexpr int64_t kSnapshotImages = 8;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

// Sums of the batch-mean terms (loss, recon, KL) weighted by batch size, kept
// on the device so that a step needs no host synchronisation.
struct EpochSums {
  torch::Tensor sums;  // [3]
  int64_t images = 0;

  void add(const torch::Tensor& batch_means, int64_t batch) {
    const torch::Tensor weighted = batch_means * static_cast<double>(batch);
    sums = sums.defined() ? sums + weighted : weighted;
    images += batch;
  }
  double mean(int64_t term) const {
    return sums[term].item<double>() / static_cast<double>(images);
  }
};

// Records the first step whose loss is NaN or Inf. On the CPU it is checked
// after every step (free); on CUDA the check stays on the device and is read
// at the progress points and the end of the epoch.
class NonFiniteWatch {
 public:
  explicit NonFiniteWatch(torch::Device device) : device_(device) {
    if (device.is_cuda())
      first_bad_ = torch::full({}, -1, torch::TensorOptions(device).dtype(torch::kLong));
  }
  void observe(const torch::Tensor& loss, int64_t step) {
    if (!device_.is_cuda()) {
      if (!std::isfinite(loss.item<double>())) fail(step);
      return;
    }
    const torch::Tensor bad =
        torch::logical_and(first_bad_.lt(0), loss.detach().isfinite().logical_not());
    first_bad_ = torch::where(bad, torch::full_like(first_bad_, step), first_bad_);
  }
  void check() const {
    if (first_bad_.defined()) {
      const int64_t step = first_bad_.item<int64_t>();
      if (step >= 0) fail(step);
    }
  }

 private:
  [[noreturn]] static void fail(int64_t step) {
    throw Error("the loss became NaN or Inf at step " + std::to_string(step + 1) +
                "; training stopped, the last checkpoint is unchanged (try a lower --lr or "
                "--grad-clip)");
  }
  torch::Device device_;
  torch::Tensor first_bad_;
};

void write_run_files(const std::string& run_dir, const std::vector<EpochMetrics>& history,
                     double active_threshold) {
  write_file_atomically(run_dir + "/metrics.csv", metrics_csv(history));
  write_file_atomically(run_dir + "/kl_per_dim.csv", kl_per_dim_csv(history, active_threshold));
}

std::string epoch_summary(const EpochMetrics& m, int64_t latent_dim) {
  std::string text = "epoch " + std::to_string(m.epoch) + "  beta " + fixed(m.beta, 3) +
                     "  train -ELBO " + fixed(m.train_neg_elbo, 2) + "  test -ELBO " +
                     fixed(m.test_neg_elbo, 2) + " (recon " + fixed(m.test_recon, 2) + ", KL " +
                     fixed(m.test_kl, 2) + ")  active " + std::to_string(m.active_units) + "/" +
                     std::to_string(latent_dim);
  if (m.mutual_info == m.mutual_info) text += "  MI " + fixed(m.mutual_info, 2);
  text += "  " + fixed(m.seconds, 1) + "s  " + fixed(m.images_per_s, 0) + " img/s";
  if (m.world_size > 1) text += "  all-reduce " + fixed(m.allreduce_ms, 2) + " ms/step";
  return text;
}

}  // namespace

TrainConfig resume_config(const std::string& run_dir, const nlohmann::json& overrides) {
  const std::string path = run_dir + "/checkpoint.pt";
  if (!fs::exists(path)) {
    throw Error("--resume: no checkpoint at " + path + " (the run has not finished an epoch yet)");
  }
  const Checkpoint checkpoint(path);
  TrainConfig config;
  apply_settings(config, checkpoint.state().config, path);
  const nlohmann::json saved = to_json(config);
  static const std::vector<std::string> kMayChange = {"epochs",   "device",     "threads",
                                                      "data-dir", "out",        "log-interval",
                                                      "samples",  "train-step", "gemm"};
  nlohmann::json allowed = nlohmann::json::object();
  for (const auto& [key, value] : overrides.items()) {
    if (std::find(kMayChange.begin(), kMayChange.end(), key) != kMayChange.end()) {
      allowed[key] = value;
    } else if (saved.contains(key) && saved[key] != value && key != "model") {
      throw Error("--" + key + " cannot change on --resume (the run used " + saved[key].dump() +
                  "); start a new run with another --out instead");
    }
  }
  apply_settings(config, allowed, "command line");
  config.out = run_dir;
  return config;
}

TrainResult train(TrainConfig config, const TrainOptions& options) {
  Communicator* comm = options.comm;
  const int64_t world = comm != nullptr ? comm->world_size() : 1;
  // Rank 0 leads: it logs and writes the run's files; the others are silent.
  const bool lead = comm == nullptr || comm->rank() == 0;
  std::ostream quiet(nullptr);
  std::ostream& log = !lead ? quiet : options.log != nullptr ? *options.log : std::cout;
  validate(config);
  if (config.batch_size < world) {
    throw Error("--batch-size " + std::to_string(config.batch_size) +
                " is smaller than the number of processes (" + std::to_string(world) +
                "): every rank needs at least one image of each batch");
  }

  std::string device_note;
  torch::Device device = select_device(config.device, &device_note);
  if (device.is_cuda() && comm != nullptr) {
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                             options.local_rank % torch::cuda::device_count()));
  }
  if (comm != nullptr && comm->device().type() != device.type()) {
    throw Error("the process group was made for " + comm->device().str() +
                ", but the run trains on " + device.str());
  }
  const int64_t threads = configure_threads(
      config.threads > 0 ? config.threads
                         : std::max<int64_t>(1, available_cpus() / options.local_processes));
  const BlasInfo blas = detect_blas();
  log << "vae " VAE_VERSION " | " << describe_runtime(device, threads, blas) << '\n';
  if (!device_note.empty()) log << "note: " << device_note << '\n';
  if (comm != nullptr) {
    log << "data parallel: " << world << " processes (" << comm->backend() << "), global batch "
        << config.batch_size << " = " << shard_of(config.batch_size, 0, world).count
        << " per rank\n";
  }
  if (blas.is_reference && !device.is_cuda()) {
    log << "WARNING: the reference BLAS (" << blas.path
        << ") is active: training will be about 15x slower. Install libopenblas0-openmp "
           "(scripts/setup.sh does).\n";
  }

  // Data.
  const std::string data_dir = resolve_data_dir(config.data_dir);
  const ImageDataset train_set = take_first(load_mnist(data_dir, Split::kTrain), config.train_size);
  const ImageDataset test_set = take_first(load_mnist(data_dir, Split::kTest), config.test_size);
  if (options.resume && (config.network.height() != train_set.height() ||
                         config.network.width() != train_set.width())) {
    throw Error("--resume: the run was trained on " + std::to_string(config.network.height()) +
                "x" + std::to_string(config.network.width()) + " images, " + data_dir + " holds " +
                std::to_string(train_set.height()) + "x" + std::to_string(train_set.width()));
  }
  config.network.in_channels(1).height(train_set.height()).width(train_set.width());
  config.network.validate();
  log << "data " << data_dir << ": " << train_set.size() << " training, " << test_set.size()
      << " test images of " << train_set.height() << "x" << train_set.width() << ", binarize "
      << to_string(config.binarize) << '\n';

  const std::string run_dir = run_directory(config);
  config.out = run_dir;
  const std::string checkpoint_path = run_dir + "/checkpoint.pt";
  if (lead && !options.resume && !options.overwrite && fs::exists(checkpoint_path)) {
    throw Error(run_dir +
                " already holds a run; continue it with --resume, or pass --overwrite "
                "or another --out");
  }
  if (lead) {
    create_directories(run_dir);
    // A run killed during a write leaves its temporary file behind.
    const int stale = remove_stale_temporaries(run_dir);
    if (stale > 0) {
      log << "removed " << stale << " temporary file" << (stale == 1 ? "" : "s")
          << " left by an interrupted write\n";
    }
  }

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  VAE model(config.network);
  model->to(device);
  if (comm != nullptr) {
    // The same seed gives the same initial values everywhere; rank 0's are
    // sent anyway, as PyTorch's DDP does, so that no rank can start apart.
    broadcast_tensors(*comm, model->parameters());
    broadcast_tensors(*comm, model->buffers());
  }
  TrainStep step(model, config, comm);
  torch::optim::Adam& optimizer = step.optimizer();
  log << "train step: " << step.describe() << '\n';
  std::unique_ptr<GradientReducer> reducer;
  if (comm != nullptr) {
    reducer = std::make_unique<GradientReducer>(*comm, model->parameters());
    const double idle_ms = reducer->idle_all_reduce_ms(20);
    log << "gradient all-reduce: " << fixed(static_cast<double>(reducer->bytes()) / 1e6, 2)
        << " MB in " << reducer->buckets() << (reducer->buckets() == 1 ? " bucket" : " buckets")
        << ", " << fixed(idle_ms, 2) << " ms when no rank is busy\n";
  }

  Batcher train_batches(train_set.images, config.batch_size, config.binarize, device);
  // Binarized runs are scored on one fixed binary draw of the test set, the
  // same for every run and epoch.
  const Binarize test_mode =
      config.binarize == Binarize::kNone ? Binarize::kNone : Binarize::kStatic;
  Batcher test_batches(test_set.images, kEvalBatchSize, test_mode, device);
  config.kl.total_steps = config.epochs * train_batches.num_batches();

  TrainingState state;
  if (options.resume) {
    // Rank 0 reads the checkpoint and sends its bytes: the other ranks may
    // run on machines that do not see the run directory.
    std::string bytes = lead ? read_file(checkpoint_path) : std::string();
    if (comm != nullptr) bytes = comm->broadcast_string(bytes);
    const Checkpoint checkpoint = Checkpoint::from_bytes(bytes, checkpoint_path, device);
    checkpoint.load_model(model);
    checkpoint.load_optimizer(optimizer);
    checkpoint.restore_rng(device);
    state = checkpoint.state();
    log << "resuming " << run_dir << " after epoch " << state.epoch << " (step " << state.step
        << ")\n";
  }
  state.config = to_json(config);
  if (lead) {
    write_file_atomically(run_dir + "/config.json", state.config.dump(2) + "\n");
    write_run_files(run_dir, state.history, config.active_threshold);
    create_directories(run_dir + "/images");
  }

  // The same codes and test images every epoch, so that the pictures in
  // images/ show the model improving.
  const torch::Tensor snapshot_z =
      prior_codes(kSnapshotSamples, config.network.latent_dim(), 1.0, kSampleSeed).to(device);
  const torch::Tensor snapshot_x =
      test_batches.batch(0).narrow(0, 0, std::min<int64_t>(kSnapshotImages, test_set.size()));

  const bool terminal = &log == &std::cout && is_terminal(1);
  const EvalOptions eval_options{config.active_threshold, config.mutual_info,
                                 parse_gemm(config.gemm)};
  NonFiniteWatch watch(device);

  // Ctrl-C / SIGTERM: finish the step, save, say how to resume.
  InterruptGuard interrupt;
  bool stop_after_epoch = false;
  const auto interrupted = [&](const std::string& where) {
    const int sig = interrupt.signal() != 0 ? interrupt.signal() : SIGINT;
    return Interrupted(
        "stopped by " + signal_name(sig) + " after step " + std::to_string(state.step) + " (" +
            where + "); checkpoint written. Continue with: vae train --resume --out " + run_dir,
        sig);
  };
  for (int64_t epoch = state.epoch + 1; epoch <= config.epochs; ++epoch) {
    model->train();
    EpochSums sums;
    int64_t first_batch = 0;
    double carried_seconds = 0.0;
    if (state.has_partial) {
      // Resumed inside this epoch: its order and sums so far come back; the
      // generators were restored to the moment it stopped.
      train_batches.set_order(state.partial.order);
      sums.sums = state.partial.sums.to(device);
      sums.images = state.partial.images;
      first_batch = state.partial.batches;
      carried_seconds = state.partial.seconds;
      state.has_partial = false;
    } else {
      train_batches.shuffle();
    }
    Progress progress(log, terminal,
                      "epoch " + std::to_string(epoch) + "/" + std::to_string(config.epochs),
                      train_batches.num_batches(), config.log_interval);
    double beta = 0.0;
    const double allreduce_before = reducer ? reducer->seconds() : 0.0;
    const auto start = Clock::now();
    for (int64_t i = first_batch; i < train_batches.num_batches(); ++i) {
      const int64_t rows = train_batches.batch_rows(i);
      const Shard shard = comm != nullptr ? shard_of(rows, comm->rank(), world) : Shard{0, rows};
      const torch::Tensor x = train_batches.batch(i, shard.begin, shard.count);
      beta = config.kl.weight(state.step);
      const StepTerms terms = step.gradient(x, rows, shard, beta);
      // The batch means of loss, recon and KL (this rank's parts of them
      // until the all-reduce, which sums them with the gradients).
      torch::Tensor means = torch::stack({terms.loss, terms.recon, terms.kl});
      bool stop = interrupt.requested();
      if (reducer) {
        // A signal on any rank stops every rank after this same step.
        means = torch::cat({means, torch::full({1}, stop ? 1.0 : 0.0, means.options())});
        reducer->all_reduce(means);
        stop = means[3].item<double>() > 0.0;
        means = means.narrow(0, 0, 3);
      }
      if (config.grad_clip > 0.0) {
        torch::nn::utils::clip_grad_norm_(model->parameters(), config.grad_clip);
      }
      optimizer.step();
      sums.add(means, rows);
      watch.observe(means[0], state.step);
      ++state.step;
      if (options.after_step) {
        options.after_step(state.step, model);
        stop = stop || (comm == nullptr && interrupt.requested());
      }
      if (progress.due(i + 1)) {
        watch.check();
        progress.update(i + 1, state.step, sums.mean(0), sums.images);
      }
      if (stop && i + 1 == train_batches.num_batches()) stop_after_epoch = true;
      if (stop && i + 1 < train_batches.num_batches()) {
        watch.check();
        progress.finish();
        state.has_partial = true;
        state.partial = {i + 1, sums.images, sums.sums, train_batches.order(),
                         carried_seconds + seconds_since(start)};
        if (lead) save_checkpoint(checkpoint_path, model, optimizer, state, device);
        throw interrupted("epoch " + std::to_string(epoch) + ", batch " + std::to_string(i + 1) +
                          " of " + std::to_string(train_batches.num_batches()));
      }
    }
    watch.check();
    progress.finish();

    EpochMetrics m;
    m.epoch = epoch;
    m.step = state.step;
    m.beta = beta;
    m.train_loss = sums.mean(0);
    m.train_recon = sums.mean(1);
    m.train_kl = sums.mean(2);
    m.train_neg_elbo = m.train_recon + m.train_kl;
    m.seconds = carried_seconds + seconds_since(start);
    m.images_per_s = static_cast<double>(sums.images) / m.seconds;
    m.world_size = world;
    if (reducer) {
      m.allreduce_ms = 1000.0 * (reducer->seconds() - allreduce_before) /
                       static_cast<double>(train_batches.num_batches());
      // Identical gradients keep the replicas identical; a difference means
      // a bug or a broken peer, and training on would be silently wrong.
      if (!tensors_agree(*comm, model->parameters())) {
        throw Error("the ranks' parameters differ after epoch " + std::to_string(epoch) +
                    "; training stopped");
      }
    }

    const auto eval_start = Clock::now();
    const EvalResult eval = evaluate(model, test_batches, eval_options, comm);
    m.eval_seconds = seconds_since(eval_start);
    m.test_neg_elbo = eval.neg_elbo;
    m.test_recon = eval.recon;
    m.test_kl = eval.kl;
    m.active_units = eval.active_units;
    m.mutual_info = eval.mutual_info;
    m.kl_per_dim = eval.kl_per_dim;
    m.mean_variance = eval.mean_variance;
    if (!std::isfinite(m.test_neg_elbo)) {
      throw Error("the test -ELBO is NaN or Inf after epoch " + std::to_string(epoch) +
                  "; training stopped, the last checkpoint is unchanged");
    }

    state.epoch = epoch;
    state.history.push_back(m);
    const bool stop_now = stop_after_epoch && epoch < config.epochs;
    if (!lead) {
      if (stop_now) throw interrupted("end of epoch " + std::to_string(epoch));
      continue;
    }
    log << epoch_summary(m, config.network.latent_dim()) << '\n';
    if (m.active_units < config.warn_active_units) {
      log << "WARNING: posterior collapse? only " << m.active_units << " of "
          << config.network.latent_dim() << " latent units are active (threshold "
          << config.warn_active_units << "); see kl_per_dim.csv, try --kl-schedule or "
          << "--free-bits\n";
    }
    if (m.test_kl < config.warn_kl) {
      log << "WARNING: posterior collapse? the test KL is " << fixed(m.test_kl, 3)
          << " nats (threshold " << config.warn_kl << "): the latents carry almost no "
          << "information\n";
    }

    // The checkpoint first: it holds the history the CSV files are made from.
    save_checkpoint(checkpoint_path, model, optimizer, state, device);
    write_run_files(run_dir, state.history, config.active_threshold);
    char name[48];
    std::snprintf(name, sizeof(name), "/images/epoch_%03lld.png", static_cast<long long>(epoch));
    write_png(run_dir + name, training_snapshot(model, snapshot_z, snapshot_x, GridOptions{}));
    if (stop_now) throw interrupted("end of epoch " + std::to_string(epoch));
  }

  if (lead && config.samples > 0) {
    c10::InferenceMode inference;
    model->eval();
    const torch::Tensor z =
        prior_codes(config.samples, config.network.latent_dim(), 1.0, kSampleSeed);
    const torch::Tensor images = model->generate(z.to(device));
    write_png(run_dir + "/samples.png", make_grid(images));
  }
  if (lead && !state.history.empty()) {
    const EpochMetrics& last = state.history.back();
    log << "done: test -ELBO " << fixed(last.test_neg_elbo, 2) << " nats after epoch " << last.epoch
        << "; wrote " << run_dir << "/{config.json,metrics.csv,kl_per_dim.csv,"
        << "checkpoint.pt,images/" << (config.samples > 0 ? ",samples.png" : "") << "}\n";
  }
  return {run_dir, state.history};
}

}  // namespace vae
