#include "vae/training/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <memory>
#include <sstream>
#include <utility>

#include "test_support.h"
#include "vae/run/checkpoint.h"
#include "vae/run/run_setup.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/error.h"
#include "vae/runtime/interrupt.h"

namespace vae {
namespace {

// A small, fast run on real MNIST: 5000 training and 500 test images,
// 100 steps per epoch.
TrainConfig small_config(const std::string& out, int64_t epochs) {
  TrainConfig config;
  config.data_dir = testing::mnist_dir();
  config.train_size = 5000;
  config.test_size = 500;
  config.batch_size = 50;
  config.epochs = epochs;
  config.network.hidden({128}).latent_dim(8);
  config.out = out;
  config.samples = 16;
  // One thread: ctest runs tests in parallel, and two processes of two
  // OpenMP threads each on two cores slow each other down many times over.
  config.threads = 1;
  return config;
}

TrainOptions quiet(std::ostringstream& log) {
  TrainOptions options;
  options.log = &log;
  return options;
}

// `config` run in `out` until a crash after step `kill_step`, then resumed
// from its last checkpoint to the end.
struct Killed {};
TrainResult killed_and_resumed(TrainConfig config, const std::string& out, int64_t kill_step,
                               std::ostringstream& log) {
  config.out = out;
  TrainOptions crash = quiet(log);
  crash.after_step = [kill_step](int64_t step, VAE&) {
    if (step == kill_step) throw Killed{};
  };
  EXPECT_THROW(train(config, crash), Killed);
  TrainOptions resume = quiet(log);
  resume.resume = true;
  return train(resume_config(config.out, {}), resume);
}

TEST(Trainer, LossFallsOnAnMnistSubsetAndFilesAreWritten) {
  testing::ScratchDir dir;
  std::ostringstream log;
  const TrainResult result = train(small_config(dir.file("run"), 3), quiet(log));
  ASSERT_EQ(result.history.size(), 3u);
  const auto& h = result.history;
  EXPECT_LT(h[2].train_neg_elbo, h[0].train_neg_elbo - 20.0);
  EXPECT_LT(h[2].test_neg_elbo, h[0].test_neg_elbo);
  EXPECT_LT(h[2].test_neg_elbo, 200.0);  // an untrained model scores ~543 nats
  EXPECT_EQ(h[2].step, 300);
  EXPECT_GT(h[2].active_units, 0);
  EXPECT_EQ(h[2].kl_per_dim.size(), 8u);
  for (const char* file :
       {"config.json", "metrics.csv", "kl_per_dim.csv", "checkpoint.pt", "samples.png"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.file("run/") + file)) << file;
  }
  const std::string csv = read_file(dir.file("run/metrics.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);  // header + 3 epochs
  EXPECT_NE(log.str().find("BLAS OpenBLAS"), std::string::npos) << log.str();

  // A second run into the same directory must not silently replace it.
  std::ostringstream again;
  try {
    train(small_config(dir.file("run"), 1), quiet(again));
    FAIL() << "overwrote an existing run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a run"), std::string::npos);
  }
}

TEST(Trainer, SameSeedSameNumbers) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("a"), 1);
  config.binarize = Binarize::kDynamic;
  const TrainResult a = train(config, quiet(log));
  config.out = dir.file("b");
  const TrainResult b = train(config, quiet(log));
  EXPECT_EQ(a.history[0].train_loss, b.history[0].train_loss);
  EXPECT_EQ(a.history[0].test_neg_elbo, b.history[0].test_neg_elbo);
  config.out = dir.file("c");
  config.seed = 2;
  const TrainResult c = train(config, quiet(log));
  EXPECT_NE(a.history[0].train_loss, c.history[0].train_loss);
}

TEST(Trainer, ResumeReachesTheNumbersOfAnUninterruptedRun) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("whole"), 3);
  config.binarize = Binarize::kDynamic;  // consumes randomness every batch
  config.kl.type = KlScheduleType::kCyclical;
  config.kl.cycles = 2;
  // A learning-rate schedule too: a function of the step, so the resumed
  // run must take the same rates.
  config.lr_schedule.type = LrScheduleType::kCosine;
  config.lr_schedule.warmup_steps = 30;
  config.lr_schedule.min = 1e-4;
  const TrainResult whole = train(config, quiet(log));

  // The same 3-epoch run, killed during epoch 2 (after epoch 1's checkpoint).
  TrainConfig first = config;
  first.out = dir.file("split");
  TrainOptions crash = quiet(log);
  crash.after_step = [](int64_t step, VAE&) {
    if (step == 150) throw Killed{};
  };
  EXPECT_THROW(train(first, crash), Killed);
  EXPECT_EQ(Checkpoint(dir.file("split/checkpoint.pt")).state().epoch, 1);
  // The resumed run takes its settings from the checkpoint, epochs from the flag.
  const TrainConfig resumed_config = resume_config(dir.file("split"), {{"epochs", 3}});
  EXPECT_EQ(resumed_config.kl.type, KlScheduleType::kCyclical);
  TrainOptions resume = quiet(log);
  resume.resume = true;
  const TrainResult resumed = train(resumed_config, resume);

  ASSERT_EQ(resumed.history.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    const EpochMetrics &x = whole.history[e], &y = resumed.history[e];
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.beta, y.beta);
    EXPECT_EQ(x.lr, y.lr);
    EXPECT_EQ(x.train_loss, y.train_loss) << "epoch " << e + 1;
    EXPECT_EQ(x.train_neg_elbo, y.train_neg_elbo) << "epoch " << e + 1;
    EXPECT_EQ(x.test_neg_elbo, y.test_neg_elbo) << "epoch " << e + 1;
    EXPECT_EQ(x.active_units, y.active_units);
    EXPECT_EQ(x.mutual_info, y.mutual_info);
    EXPECT_EQ(x.kl_per_dim, y.kl_per_dim);
  }
  const VAE a =
      load_model_from_checkpoint(Checkpoint(dir.file("whole/checkpoint.pt")), torch::kCPU);
  const VAE b =
      load_model_from_checkpoint(Checkpoint(dir.file("split/checkpoint.pt")), torch::kCPU);
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(torch::equal(pa[i], pb[i]));

  // Settings that change the numbers cannot change on resume.
  try {
    resume_config(dir.file("split"), {{"lr", 0.5}});
    FAIL() << "accepted a new learning rate on resume";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--lr cannot change on --resume"), std::string::npos);
  }
}

// The schedule's rate reaches Adam: the saved optimizer holds the last
// step's rate, metrics.csv records it, and a schedule that keeps the base
// rate trains bit for bit like none.
TEST(Trainer, LearningRateScheduleSetsAdamsRate) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("decay"), 2);
  config.lr_schedule.type = LrScheduleType::kExponential;
  config.lr_schedule.decay = 0.5;
  const TrainResult decay = train(config, quiet(log));
  LrSchedule expected = config.lr_schedule;
  expected.steps_per_epoch = 100;
  ASSERT_EQ(decay.history.size(), 2u);
  EXPECT_DOUBLE_EQ(decay.history[0].lr, expected.rate(99, 1e-3));
  EXPECT_DOUBLE_EQ(decay.history[1].lr, 1e-3 * std::pow(0.5, 199.0 / 100.0));
  // A warm-up far longer than the run keeps the rate near 0: Adam, whose
  // steps are about the rate whatever the gradient's scale, leaves the
  // initial weights nearly where they were.
  TrainConfig frozen = small_config(dir.file("frozen"), 1);
  frozen.lr_schedule.warmup_steps = int64_t{1} << 40;
  train(frozen, quiet(log));
  const VAE initial = make_model(frozen, torch::kCPU);
  const VAE trained =
      load_model_from_checkpoint(Checkpoint(dir.file("frozen/checkpoint.pt")), torch::kCPU);
  double moved = 0.0;
  for (size_t i = 0; i < initial->parameters().size(); ++i) {
    moved = std::max(
        moved, (trained->parameters()[i] - initial->parameters()[i]).abs().max().item<double>());
  }
  EXPECT_LT(moved, 1e-9);
  const std::string csv = read_file(dir.file("decay/metrics.csv"));
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",lr"), std::string::npos);
  EXPECT_NE(log.str().find("  lr 5.03e-04"), std::string::npos) << log.str();

  config.out = dir.file("plain");
  config.lr_schedule = LrSchedule{};
  const TrainResult plain = train(config, quiet(log));
  config.out = dir.file("unit");
  config.lr_schedule.type = LrScheduleType::kExponential;
  config.lr_schedule.decay = 1.0;
  const TrainResult unit = train(config, quiet(log));
  EXPECT_EQ(plain.history[1].train_loss, unit.history[1].train_loss);
  EXPECT_EQ(plain.history[1].test_neg_elbo, unit.history[1].test_neg_elbo);
  EXPECT_NE(plain.history[1].train_loss, decay.history[1].train_loss);
  EXPECT_NE(plain.history[1].lr, plain.history[1].lr);  // NaN: no schedule, no column
}

// --time-budget: no epoch starts that would end past it; the run stops
// cleanly with its checkpoint and files, and resumes with a larger budget.
TEST(Trainer, TimeBudgetStopsBeforeAnEpochThatWouldOverrunIt) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("run"), 3);
  config.time_budget = "0.001s";
  const TrainResult result = train(config, quiet(log));
  ASSERT_EQ(result.history.size(), 1u);
  EXPECT_NE(log.str().find("time budget 0.001s: stopping after epoch 1"), std::string::npos)
      << log.str();
  EXPECT_EQ(Checkpoint(dir.file("run/checkpoint.pt")).state().epoch, 1);
  EXPECT_TRUE(std::filesystem::exists(dir.file("run/samples.png")));
  TrainOptions resume = quiet(log);
  resume.resume = true;
  const TrainResult more =
      train(resume_config(dir.file("run"), {{"epochs", 3}, {"time-budget", "1h"}}), resume);
  EXPECT_EQ(more.history.size(), 3u);
}

// --eval-every 2 scores the test set after epochs 2 and 4 and after the last
// (5); the others carry no test numbers, in the history, metrics.csv and
// kl_per_dim.csv. A time budget that stops the run after an unscored epoch
// scores it before stopping, and the training numbers are those of a run
// that scores every epoch.
TEST(Trainer, EvalEveryScoresTheTestSetEveryNEpochsAndTheLast) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("every"), 5);
  config.eval_every = 2;
  const TrainResult result = train(config, quiet(log));
  ASSERT_EQ(result.history.size(), 5u);
  for (size_t e = 0; e < 5; ++e) {
    const EpochMetrics& m = result.history[e];
    const bool expected = e == 1 || e == 3 || e == 4;
    EXPECT_EQ(m.tested, expected) << "epoch " << m.epoch;
    EXPECT_EQ(std::isfinite(m.test_neg_elbo), expected) << "epoch " << m.epoch;
    EXPECT_EQ(m.kl_per_dim.empty(), !expected) << "epoch " << m.epoch;
  }
  EXPECT_NE(log.str().find("epoch 3  beta 1.000  train -ELBO"), std::string::npos);
  EXPECT_NE(log.str().find("(test set not scored this epoch)"), std::string::npos) << log.str();
  // metrics.csv: epoch 1's test columns empty, epoch 2's filled.
  const std::string csv = read_file(dir.file("every/metrics.csv"));
  const auto row = [&csv](int epoch) {
    const size_t at = csv.find("\n" + std::to_string(epoch) + ",");
    return csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
  };
  EXPECT_NE(row(1).find(",,,,,,"), std::string::npos) << row(1);
  EXPECT_EQ(row(2).find(",,"), std::string::npos) << row(2);
  const std::string kl = read_file(dir.file("every/kl_per_dim.csv"));
  EXPECT_EQ(kl.find("\n1,"), std::string::npos);
  EXPECT_EQ(kl.find("\n3,"), std::string::npos);
  EXPECT_NE(kl.find("\n2,"), std::string::npos);
  EXPECT_NE(kl.find("\n5,"), std::string::npos);
  // The checkpoint's history keeps the flag.
  EXPECT_FALSE(Checkpoint(dir.file("every/checkpoint.pt")).state().history[2].tested);

  // Scoring does not touch the training numbers.
  const TrainResult every_epoch = train(small_config(dir.file("all"), 5), quiet(log));
  for (size_t e = 0; e < 5; ++e)
    EXPECT_EQ(every_epoch.history[e].train_loss, result.history[e].train_loss) << e;
  EXPECT_EQ(every_epoch.history[4].test_neg_elbo, result.history[4].test_neg_elbo);

  // Stopped by the time budget after epoch 1, which was not due: scored.
  TrainConfig budget = small_config(dir.file("budget"), 5);
  budget.eval_every = 3;
  budget.time_budget = "0.001s";
  const TrainResult stopped = train(budget, quiet(log));
  ASSERT_EQ(stopped.history.size(), 1u);
  EXPECT_TRUE(stopped.history[0].tested);
  EXPECT_EQ(stopped.history[0].test_neg_elbo, every_epoch.history[0].test_neg_elbo);
}

// --valid-size holds out the last training images and scores them each
// epoch; best.pt is the checkpoint of the best epoch; --patience stops a
// run whose validation -ELBO stops improving (here: a decoder cut off from
// its code after epoch 2, which can at best draw the mean image).
TEST(Trainer, ValidationKeepsTheBestCheckpointAndStopsWithoutProgress) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("run"), 6);
  config.valid_size = 1000;
  config.patience = 2;
  TrainOptions spoil = quiet(log);
  spoil.after_step = [](int64_t step, VAE& model) {
    if (step > 160) {  // 4000 training images: 80 steps per epoch
      torch::NoGradGuard no_grad;
      model->named_parameters()["decoder.body.0.weight"].zero_();
    }
  };
  const TrainResult result = train(config, spoil);
  EXPECT_NE(log.str().find("4000 training, 1000 validation, 500 test images"), std::string::npos)
      << log.str();
  ASSERT_EQ(result.history.size(), 4u) << log.str();
  EXPECT_EQ(result.history[0].step, 80);
  const auto valid = [&](size_t e) { return result.history[e].valid_neg_elbo; };
  EXPECT_LT(valid(1), valid(0));
  EXPECT_LT(valid(1), valid(2));
  EXPECT_LT(valid(1), valid(3));
  EXPECT_NE(log.str().find("early stopping: no better validation -ELBO in the 2 epochs after "
                           "epoch 2"),
            std::string::npos)
      << log.str();
  EXPECT_EQ(Checkpoint(dir.file("run/best.pt")).state().epoch, 2);
  EXPECT_EQ(Checkpoint(dir.file("run/checkpoint.pt")).state().epoch, 4);
  const std::string csv = read_file(dir.file("run/metrics.csv"));
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",valid_neg_elbo"), std::string::npos);

  config.valid_size = 5000;
  config.out = dir.file("none");
  EXPECT_EQ(testing::error_of([&] { train(config, quiet(log)); }),
            "--valid-size 5000 leaves no training images (5000 loaded)");
}

// --ema-decay: the average is scored and served, the trained weights go on
// as without it (same losses, and their validation -ELBO is the plain run's),
// and a run stopped mid-way resumes to the same averages.
TEST(Trainer, WeightAverageLeavesTrainingAloneAndResumesExactly) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig plain = small_config(dir.file("plain"), 3);
  plain.valid_size = 1000;
  plain.binarize = Binarize::kDynamic;
  const TrainResult without = train(plain, quiet(log));
  TrainConfig config = plain;
  config.out = dir.file("whole");
  config.ema_decay = 0.98;
  const TrainResult whole = train(config, quiet(log));
  ASSERT_EQ(whole.history.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    const EpochMetrics &x = without.history[e], &y = whole.history[e];
    EXPECT_EQ(x.train_loss, y.train_loss) << "epoch " << e + 1;
    EXPECT_EQ(x.valid_neg_elbo, y.valid_trained_neg_elbo) << "epoch " << e + 1;
    EXPECT_NE(y.valid_neg_elbo, y.valid_trained_neg_elbo) << "epoch " << e + 1;
    EXPECT_NE(x.test_neg_elbo, y.test_neg_elbo) << "epoch " << e + 1;
    EXPECT_TRUE(std::isfinite(y.valid_neg_elbo));
  }
  const std::string csv = read_file(dir.file("whole/metrics.csv"));
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",valid_neg_elbo,valid_trained_neg_elbo"),
            std::string::npos);
  EXPECT_NE(log.str().find("(trained weights "), std::string::npos);

  // Killed in epoch 2, resumed: the same numbers and the same served model.
  // 4000 training images: 80 steps per epoch.
  const TrainResult resumed = killed_and_resumed(config, dir.file("split"), 110, log);
  ASSERT_EQ(resumed.history.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(whole.history[e].valid_neg_elbo, resumed.history[e].valid_neg_elbo);
    EXPECT_EQ(whole.history[e].test_neg_elbo, resumed.history[e].test_neg_elbo);
  }
  const VAE a =
      load_model_from_checkpoint(Checkpoint(dir.file("whole/checkpoint.pt")), torch::kCPU);
  const VAE b =
      load_model_from_checkpoint(Checkpoint(dir.file("split/checkpoint.pt")), torch::kCPU);
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  // The decay is part of the model: it cannot change on resume.
  EXPECT_NE(testing::error_of([&] {
              resume_config(dir.file("split"), {{"ema-decay", 0.5}});
            }).find("cannot change on --resume"),
            std::string::npos);
}

TEST(Trainer, CategoricalRunAnnealsTheTemperatureAndResumesExactly) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("whole"), 2);
  config.network.posterior(parse_posterior("categorical"))
      .prior(parse_prior("uniform-categorical"))
      .categorical_vars(4)
      .categories(5)
      .latent_dim(20)
      .gumbel_hard(true);
  config.tau = {1.0, 0.6, 4e-3};  // 100 steps per epoch: 0.670 after epoch 1, then the floor
  config.binarize = Binarize::kDynamic;
  // The temperature the model draws with at each step.
  std::vector<double> seen;
  TrainOptions watch = quiet(log);
  watch.after_step = [&seen](int64_t, VAE& model) {
    seen.push_back(model->named_buffers()["posterior.temperature"].item<double>());
  };
  const TrainResult whole = train(config, watch);
  ASSERT_EQ(seen.size(), 200u);
  EXPECT_DOUBLE_EQ(seen[0], 1.0);
  EXPECT_DOUBLE_EQ(seen[99], std::exp(-4e-3 * 99));
  EXPECT_DOUBLE_EQ(seen[199], 0.6);
  EXPECT_DOUBLE_EQ(whole.history[0].temperature, std::exp(-4e-3 * 99));
  // One KL and one mutual information per variable; active by KL.
  EXPECT_EQ(whole.history[1].kl_per_dim.size(), 4u);
  EXPECT_EQ(whole.history[1].mi_per_dim.size(), 4u);
  EXPECT_TRUE(whole.history[1].mean_variance.empty());
  int64_t active = 0;
  for (double kl : whole.history[1].kl_per_dim)
    active += kl > config.active_threshold ? 1 : 0;
  EXPECT_EQ(whole.history[1].active_units, active);
  EXPECT_NE(read_file(dir.file("whole/metrics.csv")).find(",tau\n"), std::string::npos);

  const TrainResult resumed = killed_and_resumed(config, dir.file("split"), 130, log);
  ASSERT_EQ(resumed.history.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(whole.history[e].temperature, resumed.history[e].temperature);
    EXPECT_EQ(whole.history[e].train_loss, resumed.history[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(whole.history[e].test_neg_elbo, resumed.history[e].test_neg_elbo);
    EXPECT_EQ(whole.history[e].mi_per_dim, resumed.history[e].mi_per_dim);
  }
}

TEST(Trainer, NonFiniteLossStopsWithTheStepAndKeepsTheCheckpoint) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("run"), 1);
  train(config, quiet(log));
  const std::string before = testing::read_bytes(dir.file("run/checkpoint.pt"));

  TrainOptions options = quiet(log);
  options.resume = true;
  options.after_step = [](int64_t step, VAE& model) {
    if (step == 140) {  // poison a weight after step 140: step 141's loss is NaN
      torch::NoGradGuard no_grad;
      model->named_parameters()["decoder.body.0.weight"].fill_(NAN);
    }
  };
  try {
    train(resume_config(dir.file("run"), {{"epochs", 2}}), options);
    FAIL() << "NaN went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN or Inf at step 141"), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::read_bytes(dir.file("run/checkpoint.pt")), before);
}

// A signal at `stop_step` (raised from the step hook, as Ctrl-C would
// arrive), then --resume: the numbers of the uninterrupted run.
void expect_signal_stop_and_exact_resume(int signal, int64_t stop_step, int64_t saved_epoch,
                                         bool partial) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("whole"), 2);
  config.binarize = Binarize::kDynamic;
  const TrainResult whole = train(config, quiet(log));

  TrainConfig first = config;
  first.out = dir.file("split");
  TrainOptions interrupted = quiet(log);
  interrupted.after_step = [&](int64_t step, VAE&) {
    if (step == stop_step) std::raise(signal);
  };
  try {
    train(first, interrupted);
    ADD_FAILURE() << "training did not stop";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), signal);
    EXPECT_NE(std::string(e.what()).find("stopped by " + signal_name(signal) + " after step " +
                                         std::to_string(stop_step)),
              std::string::npos)
        << e.what();
    EXPECT_NE(
        std::string(e.what()).find("Continue with: vae train --resume --out " + dir.file("split")),
        std::string::npos);
  }
  const Checkpoint saved(dir.file("split/checkpoint.pt"));
  EXPECT_EQ(saved.state().step, stop_step);
  EXPECT_EQ(saved.state().epoch, saved_epoch);
  EXPECT_EQ(saved.state().has_partial, partial);
  // The default handler is back after training.
  struct sigaction current;
  sigaction(signal, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_DFL);

  TrainOptions resume = quiet(log);
  resume.resume = true;
  const TrainResult resumed = train(resume_config(dir.file("split"), {{"epochs", 2}}), resume);
  ASSERT_EQ(resumed.history.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    const EpochMetrics &x = whole.history[e], &y = resumed.history[e];
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.train_loss, y.train_loss) << "epoch " << e + 1;
    EXPECT_EQ(x.train_neg_elbo, y.train_neg_elbo) << "epoch " << e + 1;
    EXPECT_EQ(x.test_neg_elbo, y.test_neg_elbo) << "epoch " << e + 1;
    EXPECT_EQ(x.kl_per_dim, y.kl_per_dim);
  }
}

TEST(Trainer, SigintMidEpochWritesACheckpointAndResumesExactly) {
  expect_signal_stop_and_exact_resume(SIGINT, 137, 1, true);  // batch 37 of epoch 2
}

TEST(Trainer, SigtermAtAnEpochsLastStepStopsAfterItsCheckpoint) {
  expect_signal_stop_and_exact_resume(SIGTERM, 100, 1, false);
}

TEST(Trainer, IwaeObjectiveTrainsAndBoundsTheElbo) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("iwae"), 2);
  config.objective = Objective::kIwae;
  config.iw_samples = 5;
  const TrainResult result = train(config, quiet(log));
  ASSERT_EQ(result.history.size(), 2u);
  for (const EpochMetrics& m : result.history) {
    // train_loss is -L_5 and train_neg_elbo the mean -log w: L_5 >= ELBO.
    EXPECT_LT(m.train_loss, m.train_neg_elbo);
  }
  EXPECT_LT(result.history[1].train_loss, result.history[0].train_loss);
  EXPECT_LT(result.history[1].test_neg_elbo, 250.0);
  TrainConfig annealed = config;
  annealed.kl.type = KlScheduleType::kLinear;
  annealed.kl.warmup_steps = 10;
  EXPECT_NE(
      testing::error_of([&] { validate(annealed); }).find("--objective iwae has no KL weight"),
      std::string::npos);
}

// --iwae-from-epoch: the ELBO first, then the IWAE bound, on which the
// validation set is then scored and best.pt chosen; a run stopped in the
// IWAE phase resumes exactly.
TEST(Trainer, IwaeFromEpochSwitchesTheBoundAndChoosesBestByIt) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("whole"), 3);
  config.valid_size = 1000;  // 4000 training images: 80 steps per epoch
  config.iwae_from_epoch = 2;
  config.iw_samples = 5;
  const TrainResult whole = train(config, quiet(log));
  ASSERT_EQ(whole.history.size(), 3u);
  const EpochMetrics& elbo = whole.history[0];
  // beta = 1, no free bits: the ELBO epoch's loss is its -ELBO, and no
  // bound is scored on the validation set.
  EXPECT_NEAR(elbo.train_loss, elbo.train_neg_elbo, 1e-2);
  EXPECT_TRUE(std::isnan(elbo.valid_neg_iwae));
  for (size_t e = 1; e < 3; ++e) {
    const EpochMetrics& m = whole.history[e];
    // train_loss is -L_5, train_neg_elbo the mean -log w: L_5 >= ELBO.
    EXPECT_LT(m.train_loss, m.train_neg_elbo - 0.1) << "epoch " << e + 1;
    EXPECT_EQ(m.valid_iw_samples, 5);
    EXPECT_LT(m.valid_neg_iwae, m.valid_neg_elbo - 0.1) << "epoch " << e + 1;
  }
  const auto best = [&](size_t e) { return whole.history[e].valid_neg_iwae; };
  EXPECT_EQ(Checkpoint(dir.file("whole/best.pt")).state().epoch, best(2) < best(1) ? 3 : 2);
  const std::string csv = read_file(dir.file("whole/metrics.csv"));
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",valid_neg_elbo,valid_neg_iwae"), std::string::npos)
      << csv;
  EXPECT_NE(log.str().find("valid -L_5 "), std::string::npos) << log.str();

  const TrainResult resumed = killed_and_resumed(config, dir.file("split"), 120, log);
  ASSERT_EQ(resumed.history.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    const EpochMetrics &x = whole.history[e], &y = resumed.history[e];
    EXPECT_EQ(x.train_loss, y.train_loss) << "epoch " << e + 1;
    EXPECT_EQ(x.valid_neg_elbo, y.valid_neg_elbo) << "epoch " << e + 1;
    if (e > 0) {
      EXPECT_EQ(x.valid_neg_iwae, y.valid_neg_iwae) << "epoch " << e + 1;
    }
    EXPECT_EQ(x.test_neg_elbo, y.test_neg_elbo) << "epoch " << e + 1;
  }

  // On --resume the phase may be added or moved while it lies ahead.
  TrainConfig plain = small_config(dir.file("later"), 1);
  train(plain, quiet(log));
  EXPECT_EQ(
      resume_config(dir.file("later"), {{"epochs", 3}, {"iwae-from-epoch", 2}}).iwae_from_epoch, 2);
  // Not to an epoch already done, nor once the phase has begun.
  for (const std::pair<std::string, int>& done :
       {std::pair<std::string, int>{"later", 1}, std::pair<std::string, int>{"whole", 3}}) {
    EXPECT_NE(testing::error_of([&] {
                resume_config(dir.file(done.first), {{"iwae-from-epoch", done.second}});
              }).find("--iwae-from-epoch cannot change on --resume"),
              std::string::npos)
        << done.first;
  }

  TrainConfig both = config;
  both.objective = Objective::kIwae;
  EXPECT_NE(testing::error_of([&] {
              validate(both);
            }).find("--iwae-from-epoch switches an ELBO run to the IWAE bound"),
            std::string::npos);
  config.iwae_from_epoch = -1;
  EXPECT_EQ(testing::error_of([&] { validate(config); }),
            "--iwae-from-epoch must be >= 0 (0 = never)");
}

// --batch-size auto from 25 rows, with a theta no gradient meets: the batch
// grows to batch_max after the first epoch.
TrainConfig growing_config(const std::string& out, int64_t epochs, int64_t batch_max) {
  TrainConfig config = small_config(out, epochs);
  config.batch_auto = true;
  config.batch_min = 25;
  config.batch_max = batch_max;
  config.norm_test_theta = 0.01;
  return config;
}

// --batch-size auto: a theta the gradients cannot meet grows the batch after
// the first epoch (to --batch-max), one they always meet keeps it; the
// schedules run on images seen / --batch-min; metrics.csv has the curve.
TEST(Trainer, AutoBatchGrowsByTheNormTest) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = growing_config(dir.file("grow"), 3, 200);
  config.kl.type = KlScheduleType::kLinear;
  config.kl.warmup_steps = 300;
  const TrainResult grown = train(config, quiet(log));
  ASSERT_EQ(grown.history.size(), 3u);
  EXPECT_EQ(grown.history[0].batch_size, 25);
  EXPECT_EQ(grown.history[0].step, 200);
  EXPECT_EQ(grown.history[1].batch_size, 200);
  EXPECT_EQ(grown.history[1].step, 225);
  EXPECT_EQ(grown.history[2].batch_size, 200);
  for (const EpochMetrics& m : grown.history)
    EXPECT_GT(m.norm_noise, 0.0) << "epoch " << m.epoch;
  // Epoch 1's last step starts after 4975 images: schedule step 199 of the
  // 300-step warm-up; epoch 2's after 5000 + 4800: step 392, past it.
  EXPECT_DOUBLE_EQ(grown.history[0].beta, 199.0 / 300.0);
  EXPECT_DOUBLE_EQ(grown.history[1].beta, 1.0);
  EXPECT_NE(log.str().find("batch 25 -> 200: the norm test failed"), std::string::npos);
  const std::string csv = read_file(dir.file("grow/metrics.csv"));
  EXPECT_NE(csv.find(",batch_size,norm_noise,norm_signal\n"), std::string::npos);
  EXPECT_EQ(Checkpoint(dir.file("grow/checkpoint.pt")).state().config["batch-size"], "auto");

  config.out = dir.file("keep");
  config.norm_test_theta = 1000.0;
  config.epochs = 2;
  const TrainResult kept = train(config, quiet(log));
  for (const EpochMetrics& m : kept.history)
    EXPECT_EQ(m.batch_size, 25) << "epoch " << m.epoch;
  // The same first epoch: theta decides only between epochs.
  EXPECT_EQ(kept.history[0].train_loss, grown.history[0].train_loss);
}

// A run whose batch grew, stopped inside its second epoch (its norm tests
// half done) and resumed: the numbers and batches of the uninterrupted run.
TEST(Trainer, AutoBatchResumesExactly) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = growing_config(dir.file("whole"), 3, 100);
  config.binarize = Binarize::kDynamic;
  config.lr_schedule.type = LrScheduleType::kCosine;
  config.lr_schedule.min = 1e-4;
  const TrainResult whole = train(config, quiet(log));

  TrainConfig first = config;
  first.out = dir.file("split");
  TrainOptions interrupted = quiet(log);
  interrupted.after_step = [](int64_t step, VAE&) {
    if (step == 223) std::raise(SIGINT);  // batch 23 of 50 in epoch 2
  };
  EXPECT_THROW(train(first, interrupted), Interrupted);
  const Checkpoint saved(dir.file("split/checkpoint.pt"));
  EXPECT_TRUE(saved.state().has_partial);
  EXPECT_GT(saved.state().partial.norm_tests, 0);
  TrainOptions resume = quiet(log);
  resume.resume = true;
  const TrainResult resumed = train(resume_config(dir.file("split"), {}), resume);
  ASSERT_EQ(resumed.history.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    const EpochMetrics &x = whole.history[e], &y = resumed.history[e];
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.batch_size, y.batch_size);
    EXPECT_EQ(x.norm_noise, y.norm_noise) << "epoch " << e + 1;
    EXPECT_EQ(x.norm_signal, y.norm_signal) << "epoch " << e + 1;
    EXPECT_EQ(x.lr, y.lr);
    EXPECT_EQ(x.train_loss, y.train_loss) << "epoch " << e + 1;
    EXPECT_EQ(x.test_neg_elbo, y.test_neg_elbo) << "epoch " << e + 1;
  }
  EXPECT_EQ(whole.history[1].batch_size, 100);
}

TEST(Trainer, StrongKlWeightOnAWideLatentLeavesUnitsInactive) {
  testing::ScratchDir dir;
  std::ostringstream log;
  TrainConfig config = small_config(dir.file("wide"), 2);
  config.network.latent_dim(64);
  config.kl.beta = 4.0;           // a heavy KL price makes the optimiser switch units off early
  config.warn_active_units = 64;  // any inactive unit triggers the warning
  const TrainResult result = train(config, quiet(log));
  EXPECT_LT(result.history.back().active_units, 64);
  EXPECT_NE(log.str().find("WARNING: posterior collapse?"), std::string::npos) << log.str();
  const std::string per_dim = read_file(dir.file("wide/kl_per_dim.csv"));
  EXPECT_NE(per_dim.find(",0\n"), std::string::npos);  // some dimension marked inactive
}

// Data-parallel training in real processes (`vae train` with torchrun's
// variables) against one process on the same data order: 1001 images make a
// last batch of 105 rows (shards of 53 and 52), dynamic binarization and
// free bits take the paths where ranks must agree on random draws and on
// the batch's KL.
std::vector<std::string> data_parallel_args(const std::string& out,
                                            const std::vector<std::string>& extra) {
  std::vector<std::string> args = {testing::vae_binary(),
                                   "train",
                                   "--data-dir",
                                   testing::mnist_dir(),
                                   "--train-size",
                                   "1001",
                                   "--test-size",
                                   "300",
                                   "--batch-size",
                                   "128",
                                   "--epochs",
                                   "2",
                                   "--hidden",
                                   "128",
                                   "--latent-dim",
                                   "8",
                                   "--threads",
                                   "1",
                                   "--samples",
                                   "0",
                                   "--out",
                                   out};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void expect_same_training(const std::vector<std::string>& extra) {
  testing::ScratchDir dir;
  testing::ChildProcess single(data_parallel_args(dir.file("single"), extra), {},
                               dir.file("single.log"));
  ASSERT_EQ(single.wait(), 0) << testing::read_bytes(dir.file("single.log"));

  const std::string port = std::to_string(testing::free_port());
  std::vector<std::unique_ptr<testing::ChildProcess>> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    ranks.push_back(std::make_unique<testing::ChildProcess>(
        data_parallel_args(dir.file("parallel"), extra),
        std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(rank)},
                                                         {"WORLD_SIZE", "2"},
                                                         {"MASTER_ADDR", "127.0.0.1"},
                                                         {"MASTER_PORT", port}},
        dir.file("rank" + std::to_string(rank) + ".log")));
  }
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_EQ(ranks[rank]->wait(), 0)
        << testing::read_bytes(dir.file("rank" + std::to_string(rank) + ".log"));
  }
  const std::string log0 = testing::read_bytes(dir.file("rank0.log"));
  EXPECT_NE(log0.find("data parallel: 2 processes (gloo), global batch 128 = 64 per rank"),
            std::string::npos)
      << log0;
  EXPECT_EQ(testing::read_bytes(dir.file("rank1.log")), "");  // rank 0 speaks for all

  const Checkpoint a(dir.file("single/checkpoint.pt")), b(dir.file("parallel/checkpoint.pt"));
  EXPECT_EQ(a.state().step, 16);
  EXPECT_EQ(b.state().step, 16);
  VAE one = load_model_from_checkpoint(a, torch::kCPU);
  VAE two = load_model_from_checkpoint(b, torch::kCPU);
  const auto p1 = one->named_parameters(), p2 = two->named_parameters();
  // Rounding differs (two half sums), so the trajectories are not bit-equal,
  // and Adam amplifies it where a gradient is itself rounding noise (border
  // pixels' weights: m/sqrt(v) is about +-1 whatever g's size), so a few
  // weights may drift by up to ~lr per step. A wrong shard, a lost rank or a
  // wrong average moves almost every weight by ~lr instead: the mean
  // difference and the share of weights that differ by more than 1e-5 tell
  // the two apart (measured: mean <= 2e-8, at most 1 of 206,000 weights).
  double max_diff = 0.0, sum_diff = 0.0;
  int64_t count = 0, far = 0;
  for (const auto& item : p1) {
    const torch::Tensor diff = (item.value() - p2[item.key()]).abs();
    max_diff = std::max(max_diff, diff.max().item<double>());
    sum_diff += diff.sum().item<double>();
    far += diff.gt(1e-5).sum().item<int64_t>();
    count += diff.numel();
  }
  EXPECT_LE(sum_diff / static_cast<double>(count), 1e-7);
  EXPECT_LE(far, count / 10000);
  EXPECT_GT(max_diff, 0.0);
  const EpochMetrics& m1 = a.state().history.back();
  const EpochMetrics& m2 = b.state().history.back();
  EXPECT_NEAR(m1.train_neg_elbo, m2.train_neg_elbo, 1e-3);
  EXPECT_NEAR(m1.test_neg_elbo, m2.test_neg_elbo, 1e-3);
  EXPECT_EQ(m1.active_units, m2.active_units);
  EXPECT_NEAR(m1.mutual_info, m2.mutual_info, 1e-3);
  EXPECT_EQ(m2.world_size, 2);
  EXPECT_GT(m2.allreduce_ms, 0.0);
}

TEST(Trainer, TwoProcessesTrainLikeOneWithTheGlobalBatch) {
  expect_same_training({"--binarize", "dynamic", "--free-bits", "0.5"});
}

TEST(Trainer, TwoProcessesTrainLikeOneWithTheIwaeObjective) {
  expect_same_training({"--objective", "iwae", "--iw-samples", "3"});
}

}  // namespace
}  // namespace vae
