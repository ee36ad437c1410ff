// vae bench: the trainer's step, evaluation and encoding, timed.
#include <iostream>

#include "command_line.h"
#include "commands.h"
#include "vae/runtime/atomic_file.h"
#include "vae/training/bench.h"

namespace vae::cli {

int bench_command(int argc, char** argv) {
  cxxopts::Options options("vae bench",
                           "Time training steps, a test-set evaluation and encoding for a model "
                           "(the --model preset and the settings flags of vae train), and compare "
                           "training with the matrix products alone at the model's layer shapes.");
  add_setting_flags(options);
  options.add_options("bench")("steps", "timed training steps (0 = one epoch)",
                               cxxopts::value<int64_t>()->default_value("0"))(
      "warmup", "untimed training steps first", cxxopts::value<int64_t>()->default_value("20"))(
      "repeats", "timed runs of the training steps; the median is reported",
      cxxopts::value<int64_t>()->default_value("3"))(
      "baseline",
      "also time the plain LibTorch step (--train-step autograd), in turn with the chosen one")(
      "json", "also write the results as JSON to this file ('-': standard output)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
  const auto result = parse_command(options, argc, argv, {"settings", "bench"});
  if (!result) return 0;
  TrainConfig config;
  try {
    config = preset_with(given_settings(*result));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  BenchOptions bench;
  bench.steps = positive<int64_t>(*result, "steps", 0);
  bench.warmup = positive<int64_t>(*result, "warmup", 0);
  bench.repeats = positive<int64_t>(*result, "repeats", 1);
  bench.baseline = result->count("baseline") > 0;
  const std::string json_path = (*result)["json"].as<std::string>();
  std::ostream& out = json_path == "-" ? std::cerr : std::cout;
  bench.log = &out;
  const BenchResult r = run_bench(config, bench);
  out << bench_report(r);
  if (json_path == "-") {
    std::cout << to_json(r).dump(2) << "\n";
  } else if (!json_path.empty()) {
    write_file_atomically(json_path, to_json(r).dump(2) + "\n");
  }
  return 0;
}

}  // namespace vae::cli
