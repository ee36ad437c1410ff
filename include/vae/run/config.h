// Every setting of a training run. One table of settings serves three
// places with the same names: the command-line flags (--latent-dim), the
// preset files in models/ ({"latent-dim": 20}) and the run's config.json.
// Precedence: built-in defaults < preset < flags.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "vae/data/batcher.h"
#include "vae/data/image_folder.h"
#include "vae/engine/engine.h"
#include "vae/engine/gemm.h"
#include "vae/model/network_options.h"
#include "vae/objective/annealing.h"
#include "vae/objective/lr_schedule.h"
#include "vae/objective/objective.h"
#include "vae/runtime/name_table.h"
#include "vae/runtime/runtime.h"

namespace vae {

struct TrainConfig {
  std::string model = "mlp";  // preset the run started from (for the record)
  NetworkOptions network;     // arch, sizes, likelihood; image size from the data

  std::string data_dir;  // empty: $MNIST_DIR, else data/mnist
  // A folder of pictures (data/data_source.h): its test set's folder, or the
  // share split off; the size the pictures are brought to ("" = their own,
  // "32" or "32x48" = H x W); crop instead of squash; the colour they are
  // stored in; leave out unreadable files; the cache file of the decoding.
  std::string test_dir;
  double test_fraction = 0.1;
  std::string image_size;
  bool crop = false;
  ColorMode color = ColorMode::kAuto;
  bool skip_bad = false;
  std::string cache;
  Binarize binarize = Binarize::kNone;
  // Training pixels replaced by random grey levels (Batcher::set_mutation_rate).
  double mutation_rate = 0.0;
  int64_t train_size = 0;  // first N training images; 0 = all
  int64_t test_size = 0;   // first N test images; 0 = all
  int64_t valid_size = 0;  // the last N training images held out for validation; 0 = none

  DeviceChoice device = DeviceChoice::kAuto;
  int64_t threads = 0;  // intra-op threads; 0 = the CPUs this process may use
  int64_t epochs = 10;
  int64_t batch_size = 128;
  // --batch-size auto: the batch starts at batch_min and grows (never
  // shrinks) up to batch_max by the norm test (training/norm_test.h) with
  // this theta; batch_size is then unused.
  bool batch_auto = false;
  int64_t batch_min = 32;
  int64_t batch_max = 1024;
  double norm_test_theta = 1.0;
  double lr = 1e-3;
  LrSchedule lr_schedule;  // steps_per_epoch, total_steps filled in by the trainer
  int64_t seed = 1;
  double grad_clip = 0.0;  // max global gradient norm; 0 = off
  // Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): every step
  // scales the weights by 1 - lr * weight_decay before Adam's update; 0 = off.
  double weight_decay = 0.0;
  // Decay of the weight average evaluated and served instead of the trained
  // weights (objective/weight_average.h); 0 = none.
  double ema_decay = 0.0;
  StepEngine train_step = StepEngine::kFused;
  GemmChoice gemm = GemmChoice::kAuto;  // the fused step's matrix products

  KlSchedule kl;            // total_steps is filled in by the trainer
  TemperatureSchedule tau;  // relaxed posteriors (categorical)
  double free_bits = 0.0;
  Objective objective = Objective::kElbo;
  int64_t iw_samples = 5;
  // An ELBO run trains the IWAE bound (iw_samples) from this epoch on, and
  // is validated on it; 0 = never.
  int64_t iwae_from_epoch = 0;

  double active_threshold = 0.01;
  int64_t warn_active_units = 1;  // warn when fewer units are active
  double warn_kl = 0.5;           // warn when the test KL (nats) is lower
  bool mutual_info = true;

  std::string out;  // empty: runs/<model>
  int64_t log_interval = 100;
  int64_t samples = 64;  // images in samples.png at the end; 0 = none
  // Training time (the epochs' training and evaluation seconds) after which
  // no further epoch starts: "90m", "2h", "7200s" or seconds; empty: none.
  std::string time_budget;
  int64_t patience = 0;  // stop after this many epochs without a better validation -ELBO; 0 = off
  // Epochs between test-set evaluations; the last epoch is always evaluated.
  int64_t eval_every = 1;
};

// How a setting is typed, on the command line and in JSON.
// kIntOrAuto: an integer or the string "auto" (--batch-size).
enum class SettingKind { kString, kInt, kDouble, kBool, kIntList, kIntOrAuto };

struct SettingInfo {
  std::string key;  // flag and JSON name, e.g. "latent-dim"
  SettingKind kind;
  std::string help;  // one line, for --help
  bool is_flag;      // false: recorded in config.json but not a flag
};

// The table, in the order --help lists it.
const std::vector<SettingInfo>& settings();

// Applies the keys of a JSON object to `config`. `source` names where the
// object came from, for error messages. Unknown keys and wrongly typed values
// throw vae::Error.
void apply_settings(TrainConfig& config, const nlohmann::json& object, const std::string& source);

// The whole config as a JSON object with every key of the table.
nlohmann::json to_json(const TrainConfig& config);

// Throws vae::Error with a one-line message for the first invalid value.
void validate(const TrainConfig& config);

// --image-size: "" (0 x 0: the pictures' own), "H" (H x H) or "HxW";
// throws vae::Error for anything else.
std::pair<int64_t, int64_t> parse_image_size(const std::string& text);

// Seconds of a duration "7200", "7200s", "90m" or "2h" (> 0); throws
// vae::Error naming `flag` otherwise.
double parse_duration(const std::string& text, const std::string& flag);

// Resolves a preset: a path to a .json file, or a name looked up as
// models/NAME.json in the working directory, then beside the executable,
// then in the source tree. Throws vae::Error listing the places searched.
std::string find_preset(const std::string& name_or_path);

// Reads a preset file into `config` (on top of what it holds).
void apply_preset_file(TrainConfig& config, const std::string& path);

// The run directory: config.out, or runs/<model name>.
std::string run_directory(const TrainConfig& config);

}  // namespace vae
