#include "vae/run/config.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <type_traits>

#include "vae/engine/gemm.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using nlohmann::json;

// A setting's place in TrainConfig and its JSON form.
struct Binding {
  SettingInfo info;
  std::function<json(const TrainConfig&)> get;
  std::function<void(TrainConfig&, const json&)> set;
};

using K = SettingKind;

// A plain value: a member of TrainConfig, or of one of its schedules.
template <typename T>
Binding member(SettingInfo info, T TrainConfig::*field) {
  return {std::move(info), [field](const TrainConfig& c) { return json(c.*field); },
          [field](TrainConfig& c, const json& v) { c.*field = v.get<T>(); }};
}
template <typename Part, typename T>
Binding nested(SettingInfo info, Part TrainConfig::*part, T Part::*field) {
  return {std::move(info), [part, field](const TrainConfig& c) { return json(c.*part.*field); },
          [part, field](TrainConfig& c, const json& v) { c.*part.*field = v.get<T>(); }};
}
template <typename T>
Binding schedule(SettingInfo info, T KlSchedule::*field) {
  return nested(std::move(info), &TrainConfig::kl, field);
}
template <typename T>
Binding learning_rate(SettingInfo info, T LrSchedule::*field) {
  return nested(std::move(info), &TrainConfig::lr_schedule, field);
}
template <typename T>
Binding temperature(SettingInfo info, T TemperatureSchedule::*field) {
  return nested(std::move(info), &TrainConfig::tau, field);
}
// An enum member, written by its name in `table`.
template <typename Owner, typename T>
Binding named(SettingInfo info, T Owner::*field, const NameTable<T>& (*table)()) {
  const auto owner = [](auto& c) -> auto& {
    if constexpr (std::is_same_v<Owner, KlSchedule>) {
      return c.kl;
    } else if constexpr (std::is_same_v<Owner, LrSchedule>) {
      return c.lr_schedule;
    } else {
      return c;
    }
  };
  return {std::move(info),
          [=](const TrainConfig& c) { return json(table().name(owner(c).*field)); },
          [=](TrainConfig& c, const json& v) {
            owner(c).*field = table().parse(v.get<std::string>());
          }};
}
// A NetworkOptions field (TORCH_ARG), through its accessor.
template <typename T>
Binding network(SettingInfo info, T& (NetworkOptions::*field)() noexcept) {
  return {std::move(info),
          [field](const TrainConfig& c) {
            NetworkOptions copy = c.network;
            return json((copy.*field)());
          },
          [field](TrainConfig& c, const json& v) {
            if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
              // A list, or one integer for a list of one.
              (c.network.*field)() =
                  v.is_number_integer() ? T{v.get<int64_t>()} : v.get<std::vector<int64_t>>();
            } else {
              (c.network.*field)() = v.get<T>();
            }
          }};
}
// A NetworkOptions field naming an enum value or a registered model part.
template <typename T>
Binding network_named(SettingInfo info, T& (NetworkOptions::*field)() noexcept,
                      T (*parse)(const std::string&)) {
  return {std::move(info),
          [field](const TrainConfig& c) {
            NetworkOptions copy = c.network;
            return json(to_string((copy.*field)()));
          },
          [field, parse](TrainConfig& c, const json& v) {
            (c.network.*field)() = parse(v.get<std::string>());
          }};
}

// The model's settings.
std::vector<Binding> model_bindings() {
  using C = TrainConfig;
  using N = NetworkOptions;
  return {
      member({"model", K::kString, "preset: a name in models/ (mlp, conv) or a .json file", true},
             &C::model),
      network_named({"arch", K::kString, "architecture: " + architectures().help(), true}, &N::arch,
                    parse_architecture),
      network({"hidden", K::kIntList,
               "fully connected hidden sizes, encoder order (e.g. 400 or 512,256)", true},
              &N::hidden),
      network({"channels", K::kIntList, "conv channels, encoder order (e.g. 32,64)", true},
              &N::channels),
      network({"latent-dim", K::kInt, "latent dimensions", true}, &N::latent_dim),
      network({"latent-layers", K::kInt, "stochastic layers L (hierarchical latents)", true},
              &N::latent_layers),
      network({"latent-dims", K::kIntList,
               "widths of the L latent layers, bottom first (e.g. 100,50)", true},
              &N::latent_dims),
      network({"layer-hidden", K::kIntList,
               "hidden sizes of each upper layer's networks q and p (e.g. 100,100)", true},
              &N::layer_hidden),
      network_named({"inference", K::kString, "hierarchy's q: " + inferences().choices(), true},
                    &N::inference, parse_inference),
      network_named(
          {"posterior", K::kString, "approximate posterior q(z|x): " + posteriors().help(), true},
          &N::posterior, parse_posterior),
      network({"flow-steps", K::kInt, "planar, iaf: flow steps K", true}, &N::flow_steps),
      network({"iaf-hidden", K::kInt, "iaf: hidden units per step and context width", true},
              &N::iaf_hidden),
      network({"categorical-vars", K::kInt, "categorical: number of one-hot variables N", true},
              &N::categorical_vars),
      network({"categories", K::kInt, "categorical: categories K of each variable", true},
              &N::categories),
      network({"gumbel-hard", K::kBool,
               "categorical: straight-through estimator (one-hot forward, relaxed gradient)", true},
              &N::gumbel_hard),
      network_named({"prior", K::kString, "prior p(z): " + priors().help(), true}, &N::prior,
                    parse_prior),
      network({"prior-components", K::kInt, "mog: mixture components K", true},
              &N::prior_components),
      network({"pseudo-inputs", K::kInt, "vamp: learned pseudo-inputs K", true}, &N::pseudo_inputs),
      network_named(
          {"likelihood", K::kString, "observation model p(x|z): " + likelihoods().help(), true},
          &N::likelihood, parse_likelihood),
      network({"autoregressive-kernel", K::kInt,
               "decoder: each pixel also reads the pixels before it in a KxK window (a causal "
               "convolution; odd K >= 3, 0 = factorised)",
               true},
              &N::autoregressive_kernel),
      network({"autoregressive-hidden", K::kInt,
               "decoder: gated units per channel reading that window too (0 = linear only)", true},
              &N::autoregressive_hidden),
      network({"autoregressive-gates-read-z", K::kBool,
               "decoder: those gates also read the pixel's logit from the code (conditional "
               "gates)",
               true},
              &N::autoregressive_gates_read_z),
      network({"autoregressive-features", K::kInt,
               "decoder: a first masked layer of F gated feature maps per channel on the window, "
               "which those gates also read (a two-layer causal stack; 0 = none)",
               true},
              &N::autoregressive_features),
      network(
          {"autoregressive-feature-kernel", K::kInt,
           "decoder: the causal window, odd, through which the gates read those features", true},
          &N::autoregressive_feature_kernel),
      network({"trials", K::kInt, "binomial: trials N of every pixel (counts 0..N)", true},
              &N::trials),
      network({"sigma", K::kDouble, "gaussian: fixed standard deviation (initial value if learned)",
               true},
              &N::sigma),
      network({"learn-sigma", K::kBool, "gaussian: learn one standard deviation per pixel", true},
              &N::learn_sigma),
      network({"image-channels", K::kInt, "set from the data", false}, &N::in_channels),
      network({"image-height", K::kInt, "set from the data", false}, &N::height),
      network({"image-width", K::kInt, "set from the data", false}, &N::width),
  };
}

// The data, optimisation, collapse-monitor and output settings.
std::vector<Binding> run_bindings() {
  using C = TrainConfig;
  return {
      // Data.
      member(
          {"data-dir", K::kString,
           "the four MNIST-format IDX files, or a folder of pictures (class subfolders or flat); "
           "default $MNIST_DIR, else data/mnist",
           true},
          &C::data_dir),
      member(
          {"test-dir", K::kString,
           "pictures: the folder of the test pictures (default: split off --test-fraction)", true},
          &C::test_dir),
      member({"test-fraction", K::kDouble,
              "pictures without --test-dir: this share of them is the test set (fixed seed)", true},
             &C::test_fraction),
      member({"image-size", K::kString,
              "pictures: bring every picture to H or HxW pixels (area interpolation; default: "
              "their own size, which must agree)",
              true},
             &C::image_size),
      member({"crop", K::kBool,
              "pictures: with --image-size, scale to cover and cut the middle out (else squash)",
              true},
             &C::crop),
      named({"color", K::kString, "pictures' channels: " + color_modes().choices(), true},
            &C::color, color_modes),
      member(
          {"skip-bad", K::kBool, "pictures: leave out (and count) files that cannot be read", true},
          &C::skip_bad),
      member({"cache", K::kString,
              "pictures: keep the decoded pictures in this file and read them from it while the "
              "folders are unchanged",
              true},
             &C::cache),
      named({"binarize", K::kString, binarize_modes().choices(), true}, &C::binarize,
            binarize_modes),
      member({"mutation-rate", K::kDouble,
              "replace each training pixel with a random grey level with this probability: a "
              "background model for vae ood's likelihood ratio (Ren et al. 2019; e.g. 0.2)",
              true},
             &C::mutation_rate),
      member({"train-size", K::kInt, "use the first N training images (0 = all)", true},
             &C::train_size),
      member({"test-size", K::kInt, "use the first N test images (0 = all)", true}, &C::test_size),
      member({"valid-size", K::kInt,
              "hold out the last N training images for validation each epoch; best.pt keeps the "
              "best (0 = none)",
              true},
             &C::valid_size),
      // Optimisation.
      named({"device", K::kString, device_choices().choices(), true}, &C::device, device_choices),
      member({"threads", K::kInt, "intra-op CPU threads (0 = all CPUs this process may use)", true},
             &C::threads),
      member({"epochs", K::kInt, "training epochs", true}, &C::epochs),
      {{"batch-size", K::kIntOrAuto,
        "minibatch size, or auto: grow it from --batch-min to --batch-max by the norm test", true},
       [](const TrainConfig& c) { return c.batch_auto ? json("auto") : json(c.batch_size); },
       [](TrainConfig& c, const json& v) {
         c.batch_auto = v.is_string();
         if (!c.batch_auto) c.batch_size = v.get<int64_t>();
       }},
      member({"batch-min", K::kInt, "--batch-size auto: the first epoch's batch", true},
             &C::batch_min),
      member({"batch-max", K::kInt, "--batch-size auto: the largest batch", true}, &C::batch_max),
      member({"norm-test-theta", K::kDouble,
              "--batch-size auto: grow the batch while its gradient noise exceeds theta^2 times "
              "the squared gradient (Byrd et al. 2012)",
              true},
             &C::norm_test_theta),
      member({"lr", K::kDouble, "Adam learning rate (the schedule's base)", true}, &C::lr),
      named(
          {"lr-schedule", K::kString, "learning-rate schedule: " + lr_schedules().choices(), true},
          &LrSchedule::type, lr_schedules),
      learning_rate({"lr-warmup-steps", K::kInt,
                     "steps of a linear learning-rate warm-up from 0 (0 = none)", true},
                    &LrSchedule::warmup_steps),
      learning_rate({"lr-min", K::kDouble, "cosine: the learning rate at the run's end", true},
                    &LrSchedule::min),
      learning_rate(
          {"lr-decay", K::kDouble, "exponential: the learning rate's factor per epoch", true},
          &LrSchedule::decay),
      named({"train-step", K::kString, step_engines().choices(), true}, &C::train_step,
            step_engines),
      named({"gemm", K::kString,
             "matrix products of the fused CPU step: " + gemm_choices().choices(), true},
            &C::gemm, gemm_choices),
      member({"seed", K::kInt, "random seed (initialisation, data order, sampling)", true},
             &C::seed),
      member(
          {"grad-clip", K::kDouble, "clip the global gradient norm to this value (0 = off)", true},
          &C::grad_clip),
      member({"weight-decay", K::kDouble,
              "decoupled weight decay (AdamW): each step scales the weights by 1 - lr * this "
              "(0 = off)",
              true},
             &C::weight_decay),
      member({"ema-decay", K::kDouble,
              "evaluate, keep and serve an exponential moving average of the weights with this "
              "decay per step, e.g. 0.999 (0 = off)",
              true},
             &C::ema_decay),
      // KL weight and collapse remedies.
      named({"kl-schedule", K::kString, "KL weight schedule: " + kl_schedules().choices(), true},
            &KlSchedule::type, kl_schedules),
      schedule({"beta", K::kDouble, "KL weight (the schedules' final value)", true},
               &KlSchedule::beta),
      schedule(
          {"kl-warmup-steps", K::kInt, "linear/sigmoid: steps until the weight reaches beta", true},
          &KlSchedule::warmup_steps),
      schedule({"kl-cycles", K::kInt, "cyclical: number of cycles M over the run", true},
               &KlSchedule::cycles),
      schedule({"kl-ratio", K::kDouble, "cyclical: share R of each cycle spent ramping up", true},
               &KlSchedule::ratio),
      member({"free-bits", K::kDouble, "floor (nats) on each dimension's batch-mean KL (0 = off)",
              true},
             &C::free_bits),
      named({"objective", K::kString, "training objective: " + objectives().choices(), true},
            &C::objective, objectives),
      member({"iw-samples", K::kInt, "iwae: importance samples k per image", true}, &C::iw_samples),
      member({"iwae-from-epoch", K::kInt,
              "train the IWAE bound (--iw-samples) from this epoch on, after the ELBO (0 = never)",
              true},
             &C::iwae_from_epoch),
      // Relaxation temperature (categorical).
      temperature(
          {"tau-start", K::kDouble, "categorical: Gumbel-softmax temperature at step 0", true},
          &TemperatureSchedule::start),
      temperature({"tau-min", K::kDouble, "categorical: the temperature's floor", true},
                  &TemperatureSchedule::min),
      temperature({"tau-anneal-rate", K::kDouble,
                   "categorical: r in tau = max(tau-min, tau-start exp(-r step))", true},
                  &TemperatureSchedule::rate),
      // Collapse monitor.
      member({"active-threshold", K::kDouble, "a unit is active when Cov_x(E_q[z_d]) exceeds this",
              true},
             &C::active_threshold),
      member({"warn-active-units", K::kInt, "warn when fewer latent units are active", true},
             &C::warn_active_units),
      member({"warn-kl", K::kDouble, "warn when the test KL falls below this many nats", true},
             &C::warn_kl),
      member({"mutual-info", K::kBool,
              "estimate I(x;z) on the test set every epoch (--mutual-info=false: skip)", true},
             &C::mutual_info),
      // Output.
      member({"out", K::kString, "run directory (default runs/<model>)", true}, &C::out),
      member({"log-interval", K::kInt, "steps between progress lines when output is not a terminal",
              true},
             &C::log_interval),
      member({"samples", K::kInt, "images in samples.png written at the end (0 = none)", true},
             &C::samples),
      member({"time-budget", K::kString,
              "stop before an epoch that would end past this training time: 90m, 2h, 7200s "
              "(empty = none)",
              true},
             &C::time_budget),
      member({"patience", K::kInt,
              "stop after this many epochs without a better validation -ELBO (0 = off)", true},
             &C::patience),
      member({"eval-every", K::kInt, "evaluate the test set every N epochs (the last epoch always)",
              true},
             &C::eval_every),
  };
}

// The table, in the order --help lists it.
const std::vector<Binding>& bindings() {
  static const std::vector<Binding> table = [] {
    std::vector<Binding> all = model_bindings();
    for (Binding& b : run_bindings())
      all.push_back(std::move(b));
    return all;
  }();
  return table;
}

bool has_kind(const json& value, SettingKind kind) {
  switch (kind) {
    case SettingKind::kString:
      return value.is_string();
    case SettingKind::kInt:
      return value.is_number_integer();
    case SettingKind::kDouble:
      return value.is_number();
    case SettingKind::kBool:
      return value.is_boolean();
    case SettingKind::kIntList:
      if (value.is_number_integer()) return true;
      if (!value.is_array()) return false;
      for (const json& item : value) {
        if (!item.is_number_integer()) return false;
      }
      return true;
    case SettingKind::kIntOrAuto:
      return value.is_number_integer() || value == "auto";
  }
  return false;
}

const char* kind_text(SettingKind kind) {
  switch (kind) {
    case SettingKind::kString:
      return "a string";
    case SettingKind::kInt:
      return "an integer";
    case SettingKind::kDouble:
      return "a number";
    case SettingKind::kBool:
      return "true or false";
    case SettingKind::kIntList:
      return "a list of integers";
    case SettingKind::kIntOrAuto:
      return "an integer or \"auto\"";
  }
  return "a value";
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

}  // namespace

const std::vector<SettingInfo>& settings() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> out;
    for (const Binding& b : bindings())
      out.push_back(b.info);
    return out;
  }();
  return infos;
}

void apply_settings(TrainConfig& config, const json& object, const std::string& source) {
  if (!object.is_object()) throw Error(source + ": expected a JSON object of settings");
  for (const auto& [key, value] : object.items()) {
    const Binding* binding = nullptr;
    for (const Binding& b : bindings()) {
      if (b.info.key == key) binding = &b;
    }
    if (binding == nullptr) throw Error(source + ": unknown setting '" + key + "'");
    if (!has_kind(value, binding->info.kind)) {
      throw Error(source + ": setting '" + key + "' must be " + kind_text(binding->info.kind) +
                  ", not " + value.dump());
    }
    binding->set(config, value);
  }
  // A family's own prior and latent width, unless the object names them
  // (validate refuses a mismatch with one line).
  NetworkOptions& network = config.network;
  const PosteriorFamily& family = *network.posterior();
  if (!family.accepts(*network.prior()) && !object.contains("prior"))
    network.prior(parse_prior(family.default_prior()));
  const int64_t fixed = family.fixed_latent_dim(network);
  if (fixed > 0 && !object.contains("latent-dim")) network.latent_dim(fixed);
  // A hierarchy's bottom layer is the encoder's latent width.
  if (object.contains("latent-dims") && !object.contains("latent-dim") &&
      !network.latent_dims().empty())
    network.latent_dim(network.latent_dims().front());
}

json to_json(const TrainConfig& config) {
  json out = json::object();
  for (const Binding& b : bindings())
    out[b.info.key] = b.get(config);
  return out;
}

void validate(const TrainConfig& c) {
  const auto finite = [](double v) { return std::isfinite(v); };
  require(c.epochs >= 1, "--epochs must be at least 1, not " + std::to_string(c.epochs));
  require(c.batch_size >= 1,
          "--batch-size must be at least 1, not " + std::to_string(c.batch_size));
  require(c.batch_min >= 1, "--batch-min must be at least 1");
  require(c.batch_min <= c.batch_max, "--batch-min (" + std::to_string(c.batch_min) +
                                          ") must not exceed --batch-max (" +
                                          std::to_string(c.batch_max) + ")");
  require(finite(c.norm_test_theta) && c.norm_test_theta > 0.0, "--norm-test-theta must be > 0");
  // Free bits compare the whole batch's KL per dimension with the floor; the
  // norm test's micro-batches would each see a part of it.
  require(!c.batch_auto || c.free_bits == 0.0,
          "--batch-size auto does not combine with --free-bits (the floor needs the whole "
          "batch's KL, the norm test splits it)");
  c.lr_schedule.validate(c.lr);  // --lr, the schedule's base, with it
  require(c.valid_size >= 0, "--valid-size must be >= 0");
  require(c.patience >= 0, "--patience must be >= 0");
  require(c.eval_every >= 1, "--eval-every must be at least 1");
  require(finite(c.mutation_rate) && c.mutation_rate >= 0.0 && c.mutation_rate <= 1.0,
          "--mutation-rate must be in [0, 1] (0 = off)");
  require(finite(c.ema_decay) && c.ema_decay >= 0.0 && c.ema_decay < 1.0,
          "--ema-decay must be in [0, 1) (0 = off)");
  require(c.patience == 0 || c.valid_size > 0,
          "--patience needs a validation set: give --valid-size N");
  if (!c.time_budget.empty()) parse_duration(c.time_budget, "--time-budget");
  require(finite(c.test_fraction) && c.test_fraction > 0.0 && c.test_fraction < 1.0,
          "--test-fraction must lie strictly between 0 and 1");
  require(!c.crop || !c.image_size.empty(), "--crop needs --image-size");
  require(c.seed >= 0, "--seed must be >= 0");
  require(c.threads >= 0, "--threads must be >= 0 (0 = all CPUs)");
  require(c.train_size >= 0, "--train-size must be >= 0 (0 = all)");
  require(c.test_size >= 0, "--test-size must be >= 0 (0 = all)");
  require(finite(c.grad_clip) && c.grad_clip >= 0.0, "--grad-clip must be >= 0 (0 = off)");
  require(finite(c.weight_decay) && c.weight_decay >= 0.0 && c.weight_decay * c.lr < 1.0,
          "--weight-decay must be >= 0 (0 = off), with --lr times it below 1");
  require(finite(c.free_bits) && c.free_bits >= 0.0, "--free-bits must be >= 0 (0 = off)");
  require(finite(c.active_threshold) && c.active_threshold >= 0.0,
          "--active-threshold must be >= 0");
  require(c.warn_active_units >= 0, "--warn-active-units must be >= 0");
  require(finite(c.warn_kl) && c.warn_kl >= 0.0, "--warn-kl must be >= 0");
  require(c.log_interval >= 1, "--log-interval must be at least 1");
  require(c.samples >= 0, "--samples must be >= 0");
  resolve_gemm(c.gemm);  // throws for onednn in a build without it
  require(c.kl.warmup_steps >= 0, "--kl-warmup-steps must be >= 0");
  require(c.iw_samples >= 1, "--iw-samples must be at least 1");
  require(c.iwae_from_epoch >= 0, "--iwae-from-epoch must be >= 0 (0 = never)");
  require(c.iwae_from_epoch == 0 || c.objective == Objective::kElbo,
          "--iwae-from-epoch switches an ELBO run to the IWAE bound; --objective iwae trains it "
          "from the first epoch");
  require(c.objective != Objective::kIwae ||
              (c.kl.type == KlScheduleType::kConstant && c.kl.beta == 1.0 && c.free_bits == 0.0),
          "--objective iwae has no KL weight: use it without --kl-schedule, --beta and "
          "--free-bits");
  require(c.free_bits == 0.0 ||
              (c.network.latent_layers() > 1 && c.network.prior()->standard_normal()) ||
              (c.network.latent_layers() == 1 &&
               c.network.posterior()->closed_form_kl(*c.network.prior())),
          std::string("--free-bits needs the KL per dimension, which ") +
              (c.network.latent_layers() > 1
                   ? std::string("the top latent layer")
                   : std::string("--posterior ") + c.network.posterior()->name()) +
              " has no closed form for with --prior " + c.network.prior()->name());
  require(c.objective != Objective::kIwae || !c.network.posterior()->relaxed(),
          std::string("--objective iwae needs log q at each draw, which the relaxed draws of "
                      "--posterior ") +
              c.network.posterior()->name() + " do not have: train it by the ELBO");
  require(finite(c.network.sigma()), "--sigma must be a positive number");
  // The image's shape comes from the data (fit_network_to_data checks the
  // network against it); until then --image-size, or a shape every
  // architecture accepts (256 divides by 2 per conv layer).
  NetworkOptions network = c.network;
  const auto [height, width] = parse_image_size(c.image_size);
  network.height(height > 0 ? height : 256).width(width > 0 ? width : 256);
  network.validate();
  c.kl.validate();
  c.tau.validate();
}

std::pair<int64_t, int64_t> parse_image_size(const std::string& text) {
  if (text.empty()) return {0, 0};
  const auto bad = [&] {
    return Error("--image-size must be H or HxW in pixels (e.g. 32 or 64x48), not '" + text + "'");
  };
  const size_t x = text.find('x');
  const auto number = [&](const std::string& part) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used != part.size() || v < 1 || v > 4096) throw bad();
    return v;
  };
  if (x == std::string::npos) {
    const int64_t side = number(text);
    return {side, side};
  }
  return {number(text.substr(0, x)), number(text.substr(x + 1))};
}

double parse_duration(const std::string& text, const std::string& flag) {
  const auto bad = [&] {
    return Error(flag + " must be a duration such as 90m, 2h or 7200s, not '" + text + "'");
  };
  size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  const std::string unit = text.substr(used);
  const double scale = unit.empty() || unit == "s" ? 1.0
                       : unit == "m"               ? 60.0
                       : unit == "h"               ? 3600.0
                                                   : 0.0;
  if (scale == 0.0 || !std::isfinite(value) || !(value > 0.0)) throw bad();
  return value * scale;
}

std::string find_preset(const std::string& name) {
  namespace fs = std::filesystem;
  const bool is_path = name.find('/') != std::string::npos ||
                       (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0);
  if (is_path) {
    if (fs::is_regular_file(name)) return name;
    throw Error("model preset file " + name + " does not exist");
  }
  std::vector<fs::path> dirs = {fs::path("models")};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / "models");
    dirs.push_back(exe.parent_path().parent_path() / "models");
    dirs.push_back(exe.parent_path().parent_path() / "share" / "vae" / "models");
  }
  dirs.push_back(fs::path(VAE_SOURCE_DIR) / "models");
  std::string searched;
  for (const fs::path& dir : dirs) {
    const fs::path candidate = dir / (name + ".json");
    if (fs::is_regular_file(candidate)) return candidate.string();
    searched += (searched.empty() ? "" : ", ") + candidate.string();
  }
  throw Error("unknown model preset '" + name + "' (looked for " + searched + ")");
}

void apply_preset_file(TrainConfig& config, const std::string& path) {
  json object;
  try {
    object = json::parse(read_file(path));
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers beyond double's range.
    throw Error(path + ": invalid JSON: " + e.what());
  }
  apply_settings(config, object, path);
}

std::string run_directory(const TrainConfig& config) {
  if (!config.out.empty()) return config.out;
  return "runs/" + std::filesystem::path(config.model).stem().string();
}

}  // namespace vae
