#include "vae/cli.h"

#include <c10/util/Exception.h>
#include <cxxopts.hpp>

#include <iostream>
#include <string>

#include "vae/config.h"
#include "vae/error.h"
#include "vae/trainer.h"

namespace vae {
namespace {

using nlohmann::json;

// Bad usage (unknown flags, bad values): exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

constexpr const char* kUsage =
    "usage: vae <command> [flags]\n"
    "\n"
    "commands:\n"
    "  train     train a VAE on MNIST-format data (vae train --help)\n"
    "  help      show this text\n"
    "  version   print the version\n";

std::string default_text(const json& value) {
  if (value.is_string()) return value.get<std::string>().empty() ? "" : value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const json& item : value)
      out += (out.empty() ? "" : ",") + item.dump();
    return out;
  }
  return value.dump();
}

void add_setting_flags(cxxopts::Options& options) {
  const json defaults = to_json(TrainConfig{});
  auto adder = options.add_options("settings");
  for (const SettingInfo& s : settings()) {
    if (!s.is_flag) continue;
    std::string help = s.help;
    const std::string def = default_text(defaults[s.key]);
    if (!def.empty()) help += " [" + def + "]";
    switch (s.kind) {
      case SettingKind::kString:
        adder(s.key, help, cxxopts::value<std::string>());
        break;
      case SettingKind::kInt:
        adder(s.key, help, cxxopts::value<int64_t>());
        break;
      case SettingKind::kDouble:
        adder(s.key, help, cxxopts::value<double>());
        break;
      case SettingKind::kBool:
        adder(s.key, help, cxxopts::value<bool>()->implicit_value("true"));
        break;
      case SettingKind::kIntList:
        adder(s.key, help, cxxopts::value<std::vector<int64_t>>());
        break;
    }
  }
}

// The settings given on the command line, as a JSON object.
json given_settings(const cxxopts::ParseResult& result) {
  json given = json::object();
  for (const SettingInfo& s : settings()) {
    if (!s.is_flag || result.count(s.key) == 0) continue;
    switch (s.kind) {
      case SettingKind::kString:
        given[s.key] = result[s.key].as<std::string>();
        break;
      case SettingKind::kInt:
        given[s.key] = result[s.key].as<int64_t>();
        break;
      case SettingKind::kDouble:
        given[s.key] = result[s.key].as<double>();
        break;
      case SettingKind::kBool:
        given[s.key] = result[s.key].as<bool>();
        break;
      case SettingKind::kIntList:
        given[s.key] = result[s.key].as<std::vector<int64_t>>();
        break;
    }
  }
  return given;
}

int train_command(int argc, char** argv) {
  cxxopts::Options options("vae train",
                           "Train a variational autoencoder on MNIST-format IDX data.\n"
                           "Settings apply on top of the --model preset (models/NAME.json).");
  add_setting_flags(options);
  options.add_options("run")("resume", "continue the run in --out from its checkpoint")(
      "overwrite", "replace a run already in --out")("h,help", "show this help");

  cxxopts::ParseResult result;
  try {
    result = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see vae train --help)");
  }
  if (result.count("help")) {
    std::cout << options.help({"settings", "run"});
    return 0;
  }
  if (!result.unmatched().empty()) {
    throw UsageError("unexpected argument '" + result.unmatched().front() +
                     "' (see vae train --help)");
  }

  const json given = given_settings(result);
  TrainOptions train_options;
  train_options.resume = result.count("resume") > 0;
  train_options.overwrite = result.count("overwrite") > 0;
  if (train_options.resume && train_options.overwrite) {
    throw UsageError("--resume and --overwrite exclude each other");
  }

  TrainConfig config;
  try {
    if (train_options.resume) {
      TrainConfig fresh;
      apply_settings(fresh, given, "command line");
      config = resume_config(run_directory(fresh), given);
    } else {
      if (given.contains("model")) config.model = given["model"].get<std::string>();
      apply_preset_file(config, find_preset(config.model));
      apply_settings(config, given, "command line");
    }
    validate(config);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  train(config, train_options);
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "train") return train_command(argc - 1, argv + 1);
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (command == "version" || command == "--version") {
      std::cout << "vae " VAE_VERSION "\n";
      return 0;
    }
    std::cerr << "vae: error: "
              << (command.empty() ? "missing command" : "unknown command '" + command + "'")
              << " (try: vae help)\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "vae: error: " << e.what() << '\n';
    return 2;
  } catch (const Error& e) {
    std::cerr << "vae: error: " << e.what() << '\n';
    return 1;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    std::cerr << "vae: error: " << what.substr(0, what.find('\n')) << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vae: error: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace vae
