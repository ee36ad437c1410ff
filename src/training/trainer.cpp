#include "vae/training/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <iostream>

#include "trainer_run.h"
#include "vae/evaluation/evaluation.h"
#include "vae/evaluation/fast_log_joint.h"
#include "vae/objective/importance_sampling.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/progress.h"
#include "vae/runtime/random_state.h"
#include "vae/views/image_grid.h"
#include "vae/views/latent_views.h"
#include "vae/views/model_views.h"

namespace vae {
namespace training {

Interrupted Trainer::interrupted(const std::string& where) const {
  const int sig = interrupt_->signal() != 0 ? interrupt_->signal() : SIGINT;
  return Interrupted(
      "stopped by " + signal_name(sig) + " after step " + std::to_string(state_.step) + " (" +
          where + "); checkpoint written. Continue with: vae train --resume --out " + run_dir_,
      sig);
}

EpochMetrics Trainer::run_epoch(int64_t epoch) {
  Batcher& batches = *train_batches_;
  model_->train();
  EpochSums sums;
  int64_t first_batch = 0;
  double carried_seconds = 0.0;
  if (state_.has_partial) {
    // Resumed inside this epoch: its order and sums so far come back; the
    // generators were restored to the moment it stopped.
    batches.set_order(state_.partial.order);
    sums.sums = state_.partial.sums.to(device_);
    sums.images = state_.partial.images;
    first_batch = state_.partial.batches;
    carried_seconds = state_.partial.seconds;
    norm_noise_ = state_.partial.norm_noise;
    norm_signal_ = state_.partial.norm_signal;
    norm_tests_ = state_.partial.norm_tests;
    state_.has_partial = false;
  } else {
    batches.shuffle();
    norm_noise_ = norm_signal_ = 0.0;
    norm_tests_ = 0;
  }
  step_->set_objective(objective_of(epoch));
  const bool terminal = &log_ == &std::cout && is_terminal(1);
  Progress progress(log_, terminal,
                    "epoch " + std::to_string(epoch) + "/" + std::to_string(config_.epochs),
                    batches.num_batches(), config_.log_interval);
  double beta = 0.0;
  const bool relaxed = config_.network.posterior()->relaxed();
  const double allreduce_before = reducer_ ? reducer_->seconds() : 0.0;
  const auto start = Clock::now();
  int64_t at = schedule_step(epoch, sums.images) - 1;  // the last step's place
  for (int64_t i = first_batch; i < batches.num_batches(); ++i) {
    at = schedule_step(epoch, sums.images);
    beta = config_.kl.weight(at);
    if (relaxed) model_->set_temperature(config_.tau.value(at));
    const bool stop = train_on_batch(i, beta, at, sums);
    if (progress.due(i + 1)) {
      watch_->check();
      progress.update(i + 1, state_.step, sums.mean(0), sums.images);
    }
    if (stop && i + 1 == batches.num_batches()) stop_after_epoch_ = true;
    if (stop && i + 1 < batches.num_batches()) {
      watch_->check();
      progress.finish();
      state_.has_partial = true;
      state_.partial = {i + 1,
                        sums.images,
                        sums.sums,
                        batches.order(),
                        carried_seconds + seconds_since(start),
                        norm_noise_,
                        norm_signal_,
                        norm_tests_};
      if (lead_) {
        save_checkpoint(checkpoint_path_, model_, step_->optimizer(), state_, device_,
                        average_.get());
      }
      throw interrupted("epoch " + std::to_string(epoch) + ", batch " + std::to_string(i + 1) +
                        " of " + std::to_string(batches.num_batches()));
    }
  }
  watch_->check();
  progress.finish();

  EpochMetrics m;
  m.epoch = epoch;
  m.step = state_.step;
  m.beta = beta;
  // The temperature of the epoch's last step.
  if (relaxed) m.temperature = config_.tau.value(at);
  if (scheduled_lr()) m.lr = config_.lr_schedule.rate(at, config_.lr);
  m.train_loss = sums.mean(0);
  m.train_recon = sums.mean(1);
  m.train_kl = sums.mean(2);
  m.train_neg_elbo = m.train_recon + m.train_kl;
  m.seconds = carried_seconds + seconds_since(start);
  m.images_per_s = static_cast<double>(sums.images) / m.seconds;
  m.world_size = world_;
  if (reducer_) {
    m.allreduce_ms = 1000.0 * (reducer_->seconds() - allreduce_before) /
                     static_cast<double>(batches.num_batches());
  }
  if (config_.batch_auto) {
    m.batch_size = batches.batch_size();
    if (norm_tests_ > 0) {
      m.norm_noise = norm_noise_ / static_cast<double>(norm_tests_);
      m.norm_signal = norm_signal_ / static_cast<double>(norm_tests_);
    }
  }
  return m;
}

int64_t Trainer::schedule_step(int64_t epoch, int64_t images) const {
  if (!config_.batch_auto) return state_.step;
  return ((epoch - 1) * train_batches_->size() + images) / config_.batch_min;
}

int64_t Trainer::batch_after(const EpochMetrics& m) const {
  if (m.batch_size <= 0) return train_batches_->batch_size();
  // An epoch without a test (too short) gives no reason to change.
  if (!(m.norm_noise == m.norm_noise)) return m.batch_size;
  return next_batch_size(m.batch_size, {NormTest{m.norm_noise, m.norm_signal}},
                         config_.norm_test_theta, config_.batch_max);
}

Objective Trainer::objective_of(int64_t epoch) const {
  if (config_.iwae_from_epoch > 0 && epoch >= config_.iwae_from_epoch) return Objective::kIwae;
  return config_.objective;
}

bool Trainer::train_on_batch(int64_t i, double beta, int64_t at, EpochSums& sums) {
  const int64_t rows = train_batches_->batch_rows(i);
  const Shard shard = comm_ != nullptr ? shard_of(rows, comm_->rank(), world_) : Shard{0, rows};
  const torch::Tensor x = train_batches_->batch(i, shard.begin, shard.count);
  // --batch-size auto tests evenly spread full batches of the epoch.
  const int64_t every = std::max<int64_t>(1, train_batches_->num_batches() / kNormTestsPerEpoch);
  const bool test = config_.batch_auto && i % every == 0 && rows == train_batches_->batch_size() &&
                    rows >= 2 * kNormTestParts;
  StepTerms terms;
  if (test) {
    NormTest norm;
    terms = step_->gradient_with_norm_test(x, kNormTestParts, beta, norm);
    norm_noise_ += norm.noise;
    norm_signal_ += norm.signal;
    ++norm_tests_;
  } else {
    terms = step_->gradient(x, rows, shard, beta);
  }
  // The batch means of loss, recon and KL (this rank's parts of them until
  // the all-reduce, which sums them with the gradients).
  torch::Tensor means = torch::stack({terms.loss, terms.recon, terms.kl});
  bool stop = interrupt_->requested();
  if (reducer_) {
    // A signal on any rank stops every rank after this same step.
    means = torch::cat({means, torch::full({1}, stop ? 1.0 : 0.0, means.options())});
    reducer_->all_reduce(means);
    stop = means[3].item<double>() > 0.0;
    means = means.narrow(0, 0, 3);
  }
  if (config_.grad_clip > 0.0) {
    torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.grad_clip);
  }
  if (scheduled_lr()) step_->set_lr(config_.lr_schedule.rate(at, config_.lr));
  step_->apply();
  if (average_) average_->update();
  sums.add(means, rows);
  watch_->observe(means[0], state_.step);
  ++state_.step;
  if (options_.after_step) {
    options_.after_step(state_.step, model_);
    stop = stop || (comm_ == nullptr && interrupt_->requested());
  }
  return stop;
}

void Trainer::evaluate_epoch(EpochMetrics& m, bool test_due) {
  if (reducer_ && !tensors_agree(*comm_, model_->parameters())) {
    // Identical gradients keep the replicas identical; a difference means
    // a bug or a broken peer, and training on would be silently wrong.
    throw Error("the ranks' parameters differ after epoch " + std::to_string(m.epoch) +
                "; training stopped");
  }
  const auto start = Clock::now();
  if (valid_batches_) {
    const RandomStateGuard leave_no_trace(device_);
    const EvalOptions elbo_only{config_.active_threshold, false, resolve_gemm(config_.gemm)};
    // Both weights on the same images: the average's gain, paired.
    if (average_)
      m.valid_trained_neg_elbo = evaluate(model_, *valid_batches_, elbo_only, comm_).neg_elbo;
    std::optional<WeightAverage::Applied> averaged;
    use_average(averaged);
    m.valid_neg_elbo = evaluate(model_, *valid_batches_, elbo_only, comm_).neg_elbo;
    if (objective_of(m.epoch) == Objective::kIwae) {
      m.valid_neg_iwae = validation_iwae();
      m.valid_iw_samples = config_.iw_samples;
    }
  }
  m.eval_seconds = seconds_since(start);
  if (test_due) {
    evaluate_test(m);
  } else {
    m.tested = false;
    m.test_neg_elbo = m.test_recon = m.test_kl = m.mutual_info = std::nan("");
  }
}

double Trainer::validation_iwae() {
  // Every rank scores every batch with the same draws (its generators are in
  // step with the others'), so all ranks get the same number.
  torch::NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->eval();
  // The evaluation's joint: its fused decoder pass where the model has one.
  const LogJoint log_joint = evaluation_log_joint(model_);
  const int64_t k = config_.iw_samples;
  double sum = 0.0;
  int64_t images = 0;
  for (int64_t i = 0; i < valid_batches_->num_batches(); ++i) {
    const int64_t rows = valid_batches_->batch_rows(i);
    const torch::Tensor x = valid_batches_->batch(i, 0, rows);
    const std::unique_ptr<Posterior> q = model_->encode(x);
    sum += log_mean_exp(log_importance_weights(x, *q, k, log_joint), k).sum().item<double>();
    images += rows;
  }
  model_->train(was_training);
  return -sum / static_cast<double>(images);
}

void Trainer::evaluate_test(EpochMetrics& m) {
  const EvalOptions options{config_.active_threshold, config_.mutual_info,
                            resolve_gemm(config_.gemm)};
  const auto start = Clock::now();
  EvalResult eval;
  {
    const RandomStateGuard leave_no_trace(device_);
    std::optional<WeightAverage::Applied> averaged;
    use_average(averaged);
    eval = evaluate(model_, *test_batches_, options, comm_);
  }
  m.eval_seconds += seconds_since(start);
  m.tested = true;
  m.test_neg_elbo = eval.neg_elbo;
  m.test_recon = eval.recon;
  m.test_kl = eval.kl;
  m.active_units = eval.active_units;
  m.mutual_info = eval.mutual_info;
  m.kl_per_dim = eval.kl_per_dim;
  m.mean_variance = eval.mean_variance;
  m.mi_per_dim = eval.mi_per_unit;
  if (!std::isfinite(m.test_neg_elbo)) {
    throw Error("the test -ELBO is NaN or Inf after epoch " + std::to_string(m.epoch) +
                "; training stopped, the last checkpoint is unchanged");
  }
}

void Trainer::use_average(std::optional<WeightAverage::Applied>& scope) {
  if (average_) scope.emplace(*average_);
}

int64_t Trainer::units() const {
  const NetworkOptions& o = config_.network;
  return o.latent_layers() > 1 ? o.code_dim() : o.posterior()->units(o);
}

void Trainer::warn(const EpochMetrics& m) {
  if (!m.tested) return;
  const int64_t latent = units();
  if (m.active_units < config_.warn_active_units) {
    log_ << "WARNING: posterior collapse? only " << m.active_units << " of " << latent
         << " latent units are active (threshold " << config_.warn_active_units
         << "); see kl_per_dim.csv, try --kl-schedule or --free-bits\n";
  }
  // The known failure of hierarchies: an upper layer that carries nothing.
  const std::vector<LayerActivity> layers =
      layer_activity(m, config_.network.layer_dims(), config_.active_threshold);
  for (size_t l = 1; l < layers.size(); ++l) {
    if (layers[l].active == 0) {
      log_ << "WARNING: posterior collapse of latent layer " << l + 1 << ": none of its "
           << layers[l].units << " units is active (KL " << fixed(layers[l].kl, 3)
           << " nats); try --kl-schedule linear (warm-up) or --free-bits\n";
    }
  }
  if (m.test_kl < config_.warn_kl) {
    log_ << "WARNING: posterior collapse? the test KL is " << fixed(m.test_kl, 3)
         << " nats (threshold " << config_.warn_kl << "): the latents carry almost no "
         << "information\n";
  }
}

void Trainer::write_outputs(const EpochMetrics& m) {
  // The checkpoint first: it holds the history the CSV files are made from.
  save_checkpoint(checkpoint_path_, model_, step_->optimizer(), state_, device_, average_.get());
  write_run_files(run_dir_, state_.history, config_.active_threshold, config_.network.layer_dims());
  char name[48];
  std::snprintf(name, sizeof(name), "/images/epoch_%03lld.png", static_cast<long long>(m.epoch));
  // The same seed every epoch: the same codes from a fixed prior, and from a
  // learned one its current distribution.
  std::optional<WeightAverage::Applied> averaged;
  use_average(averaged);
  torch::Tensor z;
  {
    c10::InferenceMode inference;
    z = prior_codes(*model_, kSnapshotSamples, 1.0, kSampleSeed).to(device_);
  }
  GridOptions grid;
  grid.stretch = config_.network.likelihood()->counts();
  write_png(run_dir_ + name, training_snapshot(model_, z, snapshot_x_, grid));
  averaged.reset();
  // The model of the best validation bound: this epoch's checkpoint.
  const EpochMetrics* best = best_epoch();
  if (best != nullptr && best->epoch == m.epoch)
    write_file_atomically(run_dir_ + "/best.pt", read_file(checkpoint_path_));
}

bool Trainer::best_by_iwae() const {
  return !state_.history.empty() &&
         state_.history.back().valid_neg_iwae == state_.history.back().valid_neg_iwae;
}

const EpochMetrics* Trainer::best_epoch() const {
  // L_k >= ELBO: epochs scored by different bounds are not compared.
  const bool iwae = best_by_iwae();
  const auto score = [iwae](const EpochMetrics& m) {
    return iwae ? m.valid_neg_iwae : m.valid_neg_elbo;
  };
  const EpochMetrics* best = nullptr;
  for (const EpochMetrics& m : state_.history) {
    const double s = score(m);
    if (s == s && (best == nullptr || s < score(*best))) best = &m;
  }
  return best;
}

bool Trainer::out_of_patience(std::string& why) {
  const EpochMetrics* best = best_epoch();
  if (config_.patience <= 0 || best == nullptr) return false;
  // The validation numbers are all-reduced: every rank decides alike.
  if (state_.history.back().epoch - best->epoch < config_.patience) return false;
  const bool iwae = best_by_iwae();
  why = "early stopping: no better validation " +
        (iwae ? "-L_" + std::to_string(best->valid_iw_samples) : std::string("-ELBO")) +
        " in the " + std::to_string(config_.patience) + " epochs after epoch " +
        std::to_string(best->epoch) + " (" +
        fixed(iwae ? best->valid_neg_iwae : best->valid_neg_elbo, 2) +
        "); best.pt holds that model\n";
  return true;
}

void Trainer::finish() {
  if (!lead_) return;
  if (config_.samples > 0) {
    std::optional<WeightAverage::Applied> averaged;
    use_average(averaged);
    c10::InferenceMode inference;
    model_->eval();
    const torch::Tensor z = prior_codes(*model_, config_.samples, 1.0, kSampleSeed);
    GridOptions grid;
    grid.stretch = config_.network.likelihood()->counts();
    write_png(run_dir_ + "/samples.png", make_grid(model_->generate(z.to(device_)), grid));
  }
  if (!state_.history.empty()) {
    const EpochMetrics& last = state_.history.back();
    log_ << "done: test -ELBO " << fixed(last.test_neg_elbo, 2) << " nats after epoch "
         << last.epoch << "; wrote " << run_dir_ << "/{config.json,metrics.csv,kl_per_dim.csv,"
         << "checkpoint.pt," << (valid_batches_ ? "best.pt," : "") << "images/"
         << (config_.samples > 0 ? ",samples.png" : "") << "}\n";
  }
}

bool Trainer::scheduled_lr() const {
  return config_.lr_schedule.type != LrScheduleType::kConstant ||
         config_.lr_schedule.warmup_steps > 0;
}

bool Trainer::out_of_time(std::string& why) {
  if (config_.time_budget.empty() || state_.history.empty()) return false;
  const double budget = parse_duration(config_.time_budget, "--time-budget");
  double used = 0.0;
  for (const EpochMetrics& m : state_.history)
    used += m.seconds + m.eval_seconds;
  const EpochMetrics& last = state_.history.back();
  const double next = last.seconds + last.eval_seconds;
  bool stop = used + next > budget;
  // Rank 0's clock decides for every rank.
  if (comm_ != nullptr) stop = comm_->broadcast_string(stop ? "1" : "0") == "1";
  if (stop) {
    why = "time budget " + config_.time_budget + ": stopping after epoch " +
          std::to_string(last.epoch) + " (" + fixed(used, 0) +
          " s of training and evaluation used; the next epoch would take about " + fixed(next, 0) +
          " s)\n";
  }
  return stop;
}

TrainResult Trainer::run() {
  prepare_runtime();
  prepare_data();
  prepare_run_directory();
  prepare_model();
  restore_or_start();
  // Ctrl-C / SIGTERM from here on: finish the step, save, say how to resume.
  const InterruptGuard interrupt;
  interrupt_ = &interrupt;
  // A resumed run may already be out of patience or time.
  std::string why;
  bool stop = out_of_patience(why) || out_of_time(why);
  if (lead_) log_ << why;
  for (int64_t epoch = state_.epoch + 1; !stop && epoch <= config_.epochs; ++epoch) {
    EpochMetrics m = run_epoch(epoch);
    const bool stop_now = stop_after_epoch_ && epoch < config_.epochs;
    evaluate_epoch(m, epoch % config_.eval_every == 0 || epoch == config_.epochs || stop_now);
    state_.epoch = epoch;
    state_.history.push_back(m);
    // Decided on every rank alike (all-reduced numbers, rank 0's clock).
    stop = epoch < config_.epochs && (out_of_patience(why) || out_of_time(why));
    // The run's last epoch is always scored.
    if (stop && !m.tested) evaluate_test(state_.history.back());
    const EpochMetrics& done = state_.history.back();
    if (config_.batch_auto) train_batches_->set_batch_size(batch_after(done));
    if (lead_) {
      log_ << epoch_summary(
                  done, units(),
                  layer_activity(done, config_.network.layer_dims(), config_.active_threshold))
           << '\n';
      warn(done);
      if (config_.batch_auto && train_batches_->batch_size() != done.batch_size) {
        log_ << "batch " << done.batch_size << " -> " << train_batches_->batch_size()
             << ": the norm test failed (gradient noise " << fixed(done.norm_noise, 3)
             << " > theta^2 x signal "
             << fixed(config_.norm_test_theta * config_.norm_test_theta * done.norm_signal, 3)
             << ")\n";
      }
      write_outputs(done);
      if (stop) log_ << why;
    }
    if (stop_now) throw interrupted("end of epoch " + std::to_string(epoch));
  }
  finish();
  return {run_dir_, state_.history};
}

}  // namespace training

TrainResult train(TrainConfig config, const TrainOptions& options) {
  return training::Trainer(std::move(config), options).run();
}

}  // namespace vae
