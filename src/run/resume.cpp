#include "vae/run/resume.h"

#include <algorithm>
#include <filesystem>

#include "vae/run/checkpoint.h"
#include "vae/runtime/error.h"

namespace vae {

TrainConfig resume_config(const std::string& run_dir, const nlohmann::json& overrides) {
  const std::string path = run_dir + "/checkpoint.pt";
  if (!std::filesystem::exists(path)) {
    throw Error("--resume: no checkpoint at " + path + " (the run has not finished an epoch yet)");
  }
  const Checkpoint checkpoint(path);
  TrainConfig config;
  apply_settings(config, checkpoint.state().config, path);
  const nlohmann::json saved = to_json(config);
  static const std::vector<std::string> kMayChange = {
      "epochs",  "device",     "threads", "data-dir",    "out",      "log-interval",
      "samples", "train-step", "gemm",    "time-budget", "patience", "eval-every"};
  // The IWAE phase may be added or moved while it lies ahead: the epochs
  // done (and one stopped inside) stay as they were.
  const int64_t done = checkpoint.state().epoch + (checkpoint.state().has_partial ? 1 : 0);
  const auto phase_ahead = [done](const nlohmann::json& epoch) {
    if (!epoch.is_number_integer()) return false;
    const auto e = epoch.get<int64_t>();
    return e == 0 || e > done;
  };
  nlohmann::json allowed = nlohmann::json::object();
  for (const auto& [key, value] : overrides.items()) {
    if (std::find(kMayChange.begin(), kMayChange.end(), key) != kMayChange.end() ||
        (key == "iwae-from-epoch" && phase_ahead(saved[key]) && phase_ahead(value))) {
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

}  // namespace vae
