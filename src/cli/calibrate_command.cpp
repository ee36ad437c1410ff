// vae calibrate: simulation-based calibration of a trained model's posterior
// (evaluation/model_calibration.h), its coverage, and the posterior
// predictive check on test images; a table, calibration.json, ranks.csv and
// the pictures (views/calibration_plots.h).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "command_line.h"
#include "commands.h"
#include "vae/evaluation/model_calibration.h"
#include "vae/run/trained_model.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/progress.h"
#include "vae/runtime/runtime.h"
#include "vae/views/calibration_plots.h"
#include "vae/views/image_grid.h"

namespace vae::cli {
namespace {

// simulation, each unit's rank (0..L), the highest-density PIT.
std::string ranks_csv(const SimulationRanks& s) {
  std::ostringstream csv;
  csv << "simulation";
  for (const std::string& name : s.names)
    csv << ',' << name;
  csv << ",density_pit\n";
  const auto r = s.ranks.accessor<int64_t, 2>();
  const auto h = s.density_pit.accessor<double, 1>();
  char value[32];
  for (int64_t i = 0; i < s.ranks.size(0); ++i) {
    csv << i;
    for (int64_t d = 0; d < s.ranks.size(1); ++d)
      csv << ',' << r[i][d];
    std::snprintf(value, sizeof(value), ",%.6f\n", h[i]);
    csv << value;
  }
  return csv.str();
}

void print_table(const std::vector<DimensionCalibration>& dims) {
  std::printf("%-10s %-16s %9s %9s %8s %9s\n", "unit", "verdict", "chi2", "p", "bias z",
              "spread z");
  for (const DimensionCalibration& d : dims) {
    std::printf("%-10s %-16s %9.2f %9.4f %8.2f %9.2f\n", d.name.c_str(),
                to_string(d.verdict).c_str(), d.chi2, d.p_value, d.bias_z, d.spread_z);
  }
}

std::string verdict_counts(const std::vector<DimensionCalibration>& dims) {
  std::map<Verdict, int> counts;
  for (const DimensionCalibration& d : dims)
    ++counts[d.verdict];
  std::string out;
  for (const std::string& name : verdicts().names()) {
    const Verdict v = verdicts().parse(name);
    if (!counts.count(v)) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(counts[v]) + " " + name;
  }
  return out;
}

}  // namespace

int calibrate_command(int argc, char** argv) {
  cxxopts::Options options(
      "vae calibrate",
      "Simulation-based calibration of the amortized posterior (Talts et al. 2018): z* ~ p(z), "
      "x ~ p(x|z*), L draws from q(z|x), the rank of z* among them per unit; rank histograms, "
      "ECDF bands, verdicts, coverage, and the posterior predictive check on test images.");
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "simulations", "simulations S", cxxopts::value<int64_t>()->default_value("1000"))(
      "draws", "posterior draws L per simulation (ranks 0..L)",
      cxxopts::value<int64_t>()->default_value("99"))(
      "test-size", "test images for the predictive check (0 = skip it)",
      cxxopts::value<int64_t>()->default_value("1000"))(
      "data-dir", "test data (default: the run's)",
      cxxopts::value<std::string>()->default_value(""))(
      "out", "output directory (default: calibration/ beside the checkpoint)",
      cxxopts::value<std::string>()->default_value(""))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "device", device_choices().choices(), cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "h,help", "show this help");
  const auto parsed = parse_command(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& result = *parsed;
  require_flag(result, "checkpoint", "vae calibrate needs --checkpoint");
  const std::string checkpoint = result["checkpoint"].as<std::string>();
  CalibrationOptions calibration;
  calibration.simulations = positive<int64_t>(result, "simulations", 2);
  calibration.draws = positive<int64_t>(result, "draws", 2);
  const int64_t test_size = positive<int64_t>(result, "test-size", 0);
  calibration.seed = static_cast<uint64_t>(positive<int64_t>(result, "seed", 0));
  const int64_t threads = configure_threads(positive<int64_t>(result, "threads", 0));
  TrainedModel trained =
      load_trained_model(checkpoint, json::object(), result["device"].as<std::string>());
  // The test images first: a missing data set fails before the simulations.
  std::optional<ImageDataset> test;
  if (test_size > 0) {
    test = take_first(load_test_images(trained, result["data-dir"].as<std::string>()), test_size);
  }
  std::string out_dir = result["out"].as<std::string>();
  if (out_dir.empty())
    out_dir = (std::filesystem::path(checkpoint).parent_path() / "calibration").string();
  std::filesystem::create_directories(out_dir);
  std::cout << "vae calibrate | " << describe_runtime(trained.device, threads, detect_blas())
            << "\n"
            << calibration.simulations << " simulations, " << calibration.draws
            << " posterior draws each, posterior " << to_string(&trained.model->posterior_family())
            << "\n";
  calibration.log = &std::cout;
  calibration.terminal = is_terminal(1);

  const SimulationRanks sims = simulate_ranks(*trained.model, trained.device, calibration);
  auto generator = at::detail::createCPUGenerator(calibration.seed + 2);
  const torch::Tensor u = rank_pit(sims.ranks, sims.draws, generator);  // [S, U]
  VerdictRule rule;
  rule.bins = histogram_bins(calibration.simulations);
  std::vector<DimensionCalibration> dims;
  std::vector<Verdict> verdict_of;
  for (int64_t d = 0; d < u.size(1); ++d) {
    dims.push_back(calibrate_dimension(u.select(1, d), sims.names[static_cast<size_t>(d)], rule));
    verdict_of.push_back(dims.back().verdict);
  }
  print_table(dims);

  const EcdfBand band =
      ecdf_band(calibration.simulations, std::min<int64_t>(calibration.simulations, 100), 0.95,
                1000, generator);
  std::vector<std::vector<double>> differences;
  int64_t outside = 0;
  for (int64_t d = 0; d < u.size(1); ++d) {
    differences.push_back(ecdf_difference(u.select(1, d), band.z));
    outside += inside_band(differences.back(), band) ? 0 : 1;
  }
  std::vector<std::pair<std::string, CoverageCurve>> curves;
  curves.emplace_back("per-unit central intervals", central_coverage(u));
  curves.emplace_back("joint highest-density region", region_coverage(sims.density_pit));
  const int64_t layers = sims.layer_of.empty() ? 1 : sims.layer_of.back() + 1;
  if (layers > 1) {
    const torch::Tensor layer = torch::tensor(sims.layer_of);
    for (int64_t l = 0; l < layers; ++l) {
      const torch::Tensor columns = torch::nonzero(layer == l).flatten();
      curves.emplace_back("layer " + std::to_string(l + 1) + " central intervals",
                          central_coverage(u.index_select(1, columns)));
    }
  }

  nlohmann::json report;
  report["checkpoint"] = checkpoint;
  report["simulations"] = calibration.simulations;
  report["draws"] = calibration.draws;
  report["seed"] = calibration.seed;
  report["bins"] = rule.bins;
  report["simulation_seconds"] = sims.seconds;
  report["units"] = nlohmann::json::array();
  for (const DimensionCalibration& d : dims)
    report["units"].push_back(to_json(d));
  report["verdicts"] = verdict_counts(dims);
  report["ecdf_band"] = {
      {"level", 0.95}, {"pointwise_gamma", band.gamma}, {"units_outside", outside}};
  for (const auto& [name, curve] : curves)
    report["coverage"][name] = to_json(curve);

  std::optional<PredictiveCheck> predictive;
  if (test) {
    predictive = predictive_check(*trained.model, test->images, trained.device, calibration);
    curves.emplace_back("test pixels, posterior predictive", predictive->coverage);
    report["predictive"] = {{"images", predictive->images},
                            {"pixels", predictive->pixels},
                            {"seconds", predictive->seconds},
                            {"coverage", to_json(predictive->coverage)}};
    if (predictive->binary) report["predictive"]["reliability"] = to_json(predictive->reliability);
  }

  const std::filesystem::path dir(out_dir);
  write_file_atomically((dir / "ranks.csv").string(), ranks_csv(sims));
  write_file_atomically((dir / "calibration.json").string(), report.dump(2) + "\n");
  write_png((dir / "rank_histograms.png").string(),
            rank_histogram_grid(dims, histogram_band(calibration.simulations, rule.bins, 0.99)));
  write_png((dir / "ecdf.png").string(), ecdf_difference_plot(differences, verdict_of, band));
  write_png((dir / "coverage.png").string(), coverage_plot(curves, band));
  if (predictive && predictive->binary) {
    write_png((dir / "reliability.png").string(),
              reliability_plot(predictive->reliability,
                               "Reliability of the predicted pixel probabilities (test set)"));
  }

  std::printf("verdicts: %s; %lld of %lld units outside the 95%% ECDF band\n",
              report["verdicts"].get<std::string>().c_str(), static_cast<long long>(outside),
              static_cast<long long>(dims.size()));
  for (const auto& [name, curve] : curves)
    std::printf("coverage area, %s: %.4f\n", name.c_str(), curve.area);
  if (predictive && predictive->binary) {
    std::printf("expected calibration error of the pixel probabilities: %.4f\n",
                predictive->reliability.expected_calibration_error);
  }
  std::printf("simulations %.1f s", sims.seconds);
  if (predictive)
    std::printf(", predictive check on %lld images %.1f s",
                static_cast<long long>(predictive->images), predictive->seconds);
  std::printf("\n");
  std::fflush(stdout);
  std::cout << "wrote " << out_dir << "/{ranks.csv, calibration.json, rank_histograms.png, "
            << "ecdf.png, coverage.png"
            << (predictive && predictive->binary ? ", reliability.png" : "") << "}\n";
  return 0;
}

}  // namespace vae::cli
