#include "vae/config.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "vae/atomic_file.h"
#include "vae/error.h"
#include "vae/gemm.h"

namespace vae {
namespace {

using nlohmann::json;

struct Binding {
  SettingInfo info;
  std::function<json(const TrainConfig&)> get;
  std::function<void(TrainConfig&, const json&)> set;
};

std::vector<int64_t> int_list(const json& value) {
  if (value.is_number_integer()) return {value.get<int64_t>()};
  return value.get<std::vector<int64_t>>();
}

const std::vector<Binding>& bindings() {
  using K = SettingKind;
  using C = TrainConfig;
  static const std::vector<Binding> table = {
      // Model.
      {{"model", K::kString, "preset: a name in models/ (mlp, conv) or a .json file", true},
       [](const C& c) { return json(c.model); },
       [](C& c, const json& v) { c.model = v.get<std::string>(); }},
      {{"arch", K::kString, "architecture: mlp | conv", true},
       [](const C& c) { return json(to_string(c.network.arch())); },
       [](C& c, const json& v) { c.network.arch(parse_architecture(v.get<std::string>())); }},
      {{"hidden", K::kIntList, "fully connected hidden sizes, encoder order (e.g. 400 or 512,256)",
        true},
       [](const C& c) { return json(c.network.hidden()); },
       [](C& c, const json& v) { c.network.hidden(int_list(v)); }},
      {{"channels", K::kIntList, "conv channels, encoder order (e.g. 32,64)", true},
       [](const C& c) { return json(c.network.channels()); },
       [](C& c, const json& v) { c.network.channels(int_list(v)); }},
      {{"latent-dim", K::kInt, "latent dimensions", true},
       [](const C& c) { return json(c.network.latent_dim()); },
       [](C& c, const json& v) { c.network.latent_dim(v.get<int64_t>()); }},
      {{"likelihood", K::kString, "observation model p(x|z): bernoulli | gaussian", true},
       [](const C& c) { return json(to_string(c.network.likelihood())); },
       [](C& c, const json& v) { c.network.likelihood(parse_likelihood(v.get<std::string>())); }},
      {{"sigma", K::kDouble, "gaussian: fixed standard deviation (initial value if learned)", true},
       [](const C& c) { return json(c.network.sigma()); },
       [](C& c, const json& v) { c.network.sigma(v.get<double>()); }},
      {{"learn-sigma", K::kBool, "gaussian: learn one standard deviation per pixel", true},
       [](const C& c) { return json(c.network.learn_sigma()); },
       [](C& c, const json& v) { c.network.learn_sigma(v.get<bool>()); }},
      {{"image-channels", K::kInt, "set from the data", false},
       [](const C& c) { return json(c.network.in_channels()); },
       [](C& c, const json& v) { c.network.in_channels(v.get<int64_t>()); }},
      {{"image-height", K::kInt, "set from the data", false},
       [](const C& c) { return json(c.network.height()); },
       [](C& c, const json& v) { c.network.height(v.get<int64_t>()); }},
      {{"image-width", K::kInt, "set from the data", false},
       [](const C& c) { return json(c.network.width()); },
       [](C& c, const json& v) { c.network.width(v.get<int64_t>()); }},
      // Data.
      {{"data-dir", K::kString,
        "directory of the four IDX files (default $MNIST_DIR, else data/mnist)", true},
       [](const C& c) { return json(c.data_dir); },
       [](C& c, const json& v) { c.data_dir = v.get<std::string>(); }},
      {{"binarize", K::kString, "none | dynamic (new draw per batch) | static (one fixed draw)",
        true},
       [](const C& c) { return json(to_string(c.binarize)); },
       [](C& c, const json& v) { c.binarize = parse_binarize(v.get<std::string>()); }},
      {{"train-size", K::kInt, "use the first N training images (0 = all)", true},
       [](const C& c) { return json(c.train_size); },
       [](C& c, const json& v) { c.train_size = v.get<int64_t>(); }},
      {{"test-size", K::kInt, "use the first N test images (0 = all)", true},
       [](const C& c) { return json(c.test_size); },
       [](C& c, const json& v) { c.test_size = v.get<int64_t>(); }},
      // Optimisation.
      {{"device", K::kString, "auto | cpu | cuda (auto: CUDA when available)", true},
       [](const C& c) { return json(c.device); },
       [](C& c, const json& v) { c.device = v.get<std::string>(); }},
      {{"threads", K::kInt, "intra-op CPU threads (0 = all CPUs this process may use)", true},
       [](const C& c) { return json(c.threads); },
       [](C& c, const json& v) { c.threads = v.get<int64_t>(); }},
      {{"epochs", K::kInt, "training epochs", true},
       [](const C& c) { return json(c.epochs); },
       [](C& c, const json& v) { c.epochs = v.get<int64_t>(); }},
      {{"batch-size", K::kInt, "minibatch size", true},
       [](const C& c) { return json(c.batch_size); },
       [](C& c, const json& v) { c.batch_size = v.get<int64_t>(); }},
      {{"lr", K::kDouble, "Adam learning rate", true},
       [](const C& c) { return json(c.lr); },
       [](C& c, const json& v) { c.lr = v.get<double>(); }},
      {{"train-step", K::kString,
        "fused (hand-derived MLP gradient and fused Adam where they apply, else autograd) | "
        "autograd (LibTorch's autograd and Adam throughout)",
        true},
       [](const C& c) { return json(c.train_step); },
       [](C& c, const json& v) { c.train_step = v.get<std::string>(); }},
      {{"gemm", K::kString,
        "matrix products of the fused CPU step: auto (oneDNN where built in) | onednn | "
        "libtorch (LibTorch's BLAS)",
        true},
       [](const C& c) { return json(c.gemm); },
       [](C& c, const json& v) { c.gemm = v.get<std::string>(); }},
      {{"seed", K::kInt, "random seed (initialisation, data order, sampling)", true},
       [](const C& c) { return json(c.seed); },
       [](C& c, const json& v) { c.seed = v.get<int64_t>(); }},
      {{"grad-clip", K::kDouble, "clip the global gradient norm to this value (0 = off)", true},
       [](const C& c) { return json(c.grad_clip); },
       [](C& c, const json& v) { c.grad_clip = v.get<double>(); }},
      // KL weight and collapse remedies.
      {{"kl-schedule", K::kString, "KL weight schedule: constant | linear | sigmoid | cyclical",
        true},
       [](const C& c) { return json(to_string(c.kl.type)); },
       [](C& c, const json& v) { c.kl.type = parse_kl_schedule(v.get<std::string>()); }},
      {{"beta", K::kDouble, "KL weight (the schedules' final value)", true},
       [](const C& c) { return json(c.kl.beta); },
       [](C& c, const json& v) { c.kl.beta = v.get<double>(); }},
      {{"kl-warmup-steps", K::kInt, "linear/sigmoid: steps until the weight reaches beta", true},
       [](const C& c) { return json(c.kl.warmup_steps); },
       [](C& c, const json& v) { c.kl.warmup_steps = v.get<int64_t>(); }},
      {{"kl-cycles", K::kInt, "cyclical: number of cycles M over the run", true},
       [](const C& c) { return json(c.kl.cycles); },
       [](C& c, const json& v) { c.kl.cycles = v.get<int64_t>(); }},
      {{"kl-ratio", K::kDouble, "cyclical: share R of each cycle spent ramping up", true},
       [](const C& c) { return json(c.kl.ratio); },
       [](C& c, const json& v) { c.kl.ratio = v.get<double>(); }},
      {{"free-bits", K::kDouble, "floor (nats) on each dimension's batch-mean KL (0 = off)", true},
       [](const C& c) { return json(c.free_bits); },
       [](C& c, const json& v) { c.free_bits = v.get<double>(); }},
      {{"objective", K::kString, "training objective: elbo | iwae (Burda et al. 2015)", true},
       [](const C& c) { return json(c.objective); },
       [](C& c, const json& v) { c.objective = v.get<std::string>(); }},
      {{"iw-samples", K::kInt, "iwae: importance samples k per image", true},
       [](const C& c) { return json(c.iw_samples); },
       [](C& c, const json& v) { c.iw_samples = v.get<int64_t>(); }},
      // Collapse monitor.
      {{"active-threshold", K::kDouble, "a unit is active when Cov_x(E_q[z_d]) exceeds this", true},
       [](const C& c) { return json(c.active_threshold); },
       [](C& c, const json& v) { c.active_threshold = v.get<double>(); }},
      {{"warn-active-units", K::kInt, "warn when fewer latent units are active", true},
       [](const C& c) { return json(c.warn_active_units); },
       [](C& c, const json& v) { c.warn_active_units = v.get<int64_t>(); }},
      {{"warn-kl", K::kDouble, "warn when the test KL falls below this many nats", true},
       [](const C& c) { return json(c.warn_kl); },
       [](C& c, const json& v) { c.warn_kl = v.get<double>(); }},
      {{"mutual-info", K::kBool,
        "estimate I(x;z) on the test set every epoch (--mutual-info=false: skip)", true},
       [](const C& c) { return json(c.mutual_info); },
       [](C& c, const json& v) { c.mutual_info = v.get<bool>(); }},
      // Output.
      {{"out", K::kString, "run directory (default runs/<model>)", true},
       [](const C& c) { return json(c.out); },
       [](C& c, const json& v) { c.out = v.get<std::string>(); }},
      {{"log-interval", K::kInt, "steps between progress lines when output is not a terminal",
        true},
       [](const C& c) { return json(c.log_interval); },
       [](C& c, const json& v) { c.log_interval = v.get<int64_t>(); }},
      {{"samples", K::kInt, "images in samples.png written at the end (0 = none)", true},
       [](const C& c) { return json(c.samples); },
       [](C& c, const json& v) { c.samples = v.get<int64_t>(); }},
  };
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
  require(finite(c.lr) && c.lr > 0.0, "--lr must be a positive number");
  require(c.seed >= 0, "--seed must be >= 0");
  require(c.threads >= 0, "--threads must be >= 0 (0 = all CPUs)");
  require(c.train_size >= 0, "--train-size must be >= 0 (0 = all)");
  require(c.test_size >= 0, "--test-size must be >= 0 (0 = all)");
  require(finite(c.grad_clip) && c.grad_clip >= 0.0, "--grad-clip must be >= 0 (0 = off)");
  require(finite(c.free_bits) && c.free_bits >= 0.0, "--free-bits must be >= 0 (0 = off)");
  require(finite(c.active_threshold) && c.active_threshold >= 0.0,
          "--active-threshold must be >= 0");
  require(c.warn_active_units >= 0, "--warn-active-units must be >= 0");
  require(finite(c.warn_kl) && c.warn_kl >= 0.0, "--warn-kl must be >= 0");
  require(c.log_interval >= 1, "--log-interval must be at least 1");
  require(c.samples >= 0, "--samples must be >= 0");
  require(c.device == "auto" || c.device == "cpu" || c.device == "cuda",
          "--device must be auto, cpu or cuda, not '" + c.device + "'");
  require(c.train_step == "fused" || c.train_step == "autograd",
          "--train-step must be fused or autograd, not '" + c.train_step + "'");
  parse_gemm(c.gemm);  // throws for an unknown name, or onednn without it
  require(c.kl.warmup_steps >= 0, "--kl-warmup-steps must be >= 0");
  require(c.objective == "elbo" || c.objective == "iwae",
          "--objective must be elbo or iwae, not '" + c.objective + "'");
  require(c.iw_samples >= 1, "--iw-samples must be at least 1");
  require(c.objective != "iwae" ||
              (c.kl.type == KlScheduleType::kConstant && c.kl.beta == 1.0 && c.free_bits == 0.0),
          "--objective iwae has no KL weight: use it without --kl-schedule, --beta and "
          "--free-bits");
  require(finite(c.network.sigma()), "--sigma must be a positive number");
  c.network.validate();
  c.kl.validate();
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
