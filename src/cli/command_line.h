// What every subcommand shares: parsing its flags into one-line usage errors,
// the --help and required-flag preamble, numeric checks, the settings flags
// of `vae train` and `vae bench`, and the image-grid flags of the pictures.
#pragma once

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "vae/evaluation/anomaly_scores.h"
#include "vae/run/config.h"
#include "vae/runtime/error.h"
#include "vae/views/image_grid.h"

namespace vae::cli {

using nlohmann::json;

// Bad usage (unknown flags, bad values): exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Parses a subcommand's flags (accepting the documented one-letter --n, --k);
// cxxopts errors and stray arguments become usage errors. Prints the help
// (of `help_groups`, or all) and returns nothing when --help was given.
std::optional<cxxopts::ParseResult> parse_command(cxxopts::Options& options, int argc, char** argv,
                                                  const std::vector<std::string>& help_groups = {});

// Throws UsageError("vae CMD needs --FLAG ...") when `flag` was not given.
void require_flag(const cxxopts::ParseResult& result, const std::string& flag,
                  const std::string& message);

// result[key] as T, at least `minimum`, else a usage error.
template <typename T>
T positive(const cxxopts::ParseResult& result, const std::string& key, T minimum) {
  const T value = result[key].as<T>();
  if (value < minimum) {
    throw UsageError("--" + key + " must be at least " + std::to_string(minimum) + ", not " +
                     std::to_string(value));
  }
  return value;
}

// Every setting of the table (config.h) as a flag, in the group "settings",
// and the ones given, as a JSON object.
void add_setting_flags(cxxopts::Options& options);
json given_settings(const cxxopts::ParseResult& result);
// The --model preset with the given settings on top, validated.
TrainConfig preset_with(const json& given);

// --scale, --padding, --columns.
void add_grid_options(cxxopts::Options& options);
GridOptions grid_options(const cxxopts::ParseResult& result);

// The --methods names of vae ood and vae score (evaluation/anomaly_scores.h);
// an unknown name, or ratio without a background model, is a usage error.
std::vector<OodMethod> parse_ood_methods(const std::vector<std::string>& names, bool background);

// result[key] as an index into a test set of `size` images.
int64_t image_index(const cxxopts::ParseResult& result, const std::string& key, int64_t size);

}  // namespace vae::cli
