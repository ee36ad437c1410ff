#include "command_line.h"

#include <iostream>

namespace vae::cli {
namespace {

// cxxopts takes one-letter names as short options only; accept the
// documented --n, --k (and --x=V) by rewriting them to -n V.
std::vector<std::string> one_letter_flags(int argc, char** argv) {
  std::vector<std::string> words(argv, argv + argc);
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    const bool one_letter = word.size() >= 3 && word.compare(0, 2, "--") == 0 &&
                            std::isalpha(static_cast<unsigned char>(word[2])) &&
                            (word.size() == 3 || word[3] == '=');
    if (!one_letter) continue;
    if (word.size() > 3) {
      words.insert(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, word.substr(4));
    }
    words[i] = "-" + words[i].substr(2, 1);
  }
  return words;
}

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

// "auto", or the whole text as an integer.
json int_or_auto(const std::string& text, const std::string& key) {
  if (text == "auto") return "auto";
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw Error("--" + key + " must be an integer or auto, not '" + text + "'");
  return value;
}

}  // namespace

std::optional<cxxopts::ParseResult> parse_command(cxxopts::Options& options, int argc, char** argv,
                                                  const std::vector<std::string>& help_groups) {
  std::vector<std::string> words = one_letter_flags(argc, argv);
  std::vector<char*> args;
  for (std::string& word : words)
    args.push_back(word.data());
  cxxopts::ParseResult result;
  try {
    result = options.parse(static_cast<int>(args.size()), args.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see " + options.program() + " --help)");
  }
  if (result.count("help")) {
    std::cout << (help_groups.empty() ? options.help() : options.help(help_groups));
    return std::nullopt;
  }
  if (!result.unmatched().empty()) {
    throw UsageError("unexpected argument '" + result.unmatched().front() + "' (see " +
                     options.program() + " --help)");
  }
  return result;
}

void require_flag(const cxxopts::ParseResult& result, const std::string& flag,
                  const std::string& message) {
  if (result.count(flag) == 0) throw UsageError(message);
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
      case SettingKind::kIntOrAuto:
        adder(s.key, help, cxxopts::value<std::string>());
        break;
    }
  }
}

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
      case SettingKind::kIntOrAuto:
        given[s.key] = int_or_auto(result[s.key].as<std::string>(), s.key);
        break;
    }
  }
  return given;
}

TrainConfig preset_with(const json& given) {
  TrainConfig config;
  if (given.contains("model")) config.model = given["model"].get<std::string>();
  apply_preset_file(config, find_preset(config.model));
  apply_settings(config, given, "command line");
  validate(config);
  return config;
}

void add_grid_options(cxxopts::Options& options) {
  options.add_options("grid")("scale", "pixels per image pixel",
                              cxxopts::value<int64_t>()->default_value("3"))(
      "padding", "pixels between images", cxxopts::value<int64_t>()->default_value("2"))(
      "columns", "images per row", cxxopts::value<int64_t>()->default_value("8"));
}

GridOptions grid_options(const cxxopts::ParseResult& result) {
  GridOptions grid;
  grid.scale = positive<int64_t>(result, "scale", 1);
  grid.padding = positive<int64_t>(result, "padding", 0);
  grid.columns = positive<int64_t>(result, "columns", 1);
  return grid;
}

std::vector<OodMethod> parse_ood_methods(const std::vector<std::string>& names, bool background) {
  std::vector<OodMethod> methods;
  for (const std::string& name : names) {
    try {
      methods.push_back(ood_methods().parse(name));
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    if (methods.back() == OodMethod::kRatio && !background) {
      throw UsageError(
          "--methods ratio needs --background CHECKPOINT: a model trained on the same data with "
          "--mutation-rate (e.g. vae train --mutation-rate 0.2 ...)");
    }
  }
  return methods;
}

int64_t image_index(const cxxopts::ParseResult& result, const std::string& key, int64_t size) {
  const int64_t index = result[key].as<int64_t>();
  if (index < 0 || index >= size) {
    throw UsageError("--" + key + " " + std::to_string(index) + " is not a test image index (0.." +
                     std::to_string(size - 1) + ")");
  }
  return index;
}

}  // namespace vae::cli
