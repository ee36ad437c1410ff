// Likelihoods of a trained model: vae eval (the test set's L_k, ELBO and
// gap) and vae score (per-image estimates, anomaly scores).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "command_line.h"
#include "commands.h"
#include "vae/data/batcher.h"
#include "vae/data/image_input.h"
#include "vae/evaluation/anomaly_scores.h"
#include "vae/evaluation/likelihood_eval.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/progress.h"
#include "vae/runtime/runtime.h"
#include "vae/views/model_views.h"

namespace vae::cli {
namespace {

void add_eval_options(cxxopts::Options& options) {
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "k", "importance samples per image", cxxopts::value<int64_t>()->default_value("5000"))(
      "k-curve", "also report L_k for these k (e.g. 1,5,50,500,5000)",
      cxxopts::value<std::vector<int64_t>>())("binarize",
                                              binarize_modes().choices() + "; default: the run's",
                                              cxxopts::value<std::string>()->default_value(""))(
      "data-dir", "test data (default: the run's)",
      cxxopts::value<std::string>()->default_value(""))(
      "test-size", "first N test images (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "batch-size", "images per pass", cxxopts::value<int64_t>()->default_value("100"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "device", device_choices().choices(), cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "out", "JSON results (default: eval.json beside the checkpoint)",
      cxxopts::value<std::string>()->default_value(""))(
      "per-image", "also write each image's -ELBO and -L_k to this CSV (paired comparisons)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
}

// name,neg_elbo,neg_log_px per image (nats), as `vae score` writes them,
// and any further columns of anomaly scores (vae score --methods).
std::string per_image_csv(
    const std::vector<std::string>& names, const LikelihoodEvalResult& r,
    const std::vector<std::pair<std::string, std::vector<double>>>& extra = {}) {
  std::ostringstream csv;
  csv << "name,neg_elbo,neg_log_px";
  for (const auto& [column, values] : extra)
    csv << ',' << column;
  csv << '\n';
  for (size_t i = 0; i < names.size(); ++i) {
    char line[96];
    std::snprintf(line, sizeof(line), ",%.4f,%.4f", -r.per_image_elbo[i].item<double>(),
                  -r.per_image_log_px[i].item<double>());
    csv << names[i] << line;
    for (const auto& [column, values] : extra) {
      std::snprintf(line, sizeof(line), ",%.4f", values[i]);
      csv << line;
    }
    csv << '\n';
  }
  return csv.str();
}

void print_eval(const LikelihoodEvalResult& r) {
  char text[512];
  std::snprintf(text, sizeof(text),
                "log p(x) >= L_%lld  %9.3f nats  (+/- %.3f)  %.4f bits/dim\n"
                "ELBO                %9.3f nats  (+/- %.3f)  %.4f bits/dim\n"
                "gap L_k - ELBO      %9.3f nats\n",
                static_cast<long long>(r.k), r.log_px, r.log_px_se, r.bits_per_dim(r.log_px),
                r.elbo, r.elbo_se, r.bits_per_dim(r.elbo), r.gap);
  std::cout << text;
  for (const auto& [kk, value] : r.k_curve) {
    std::snprintf(text, sizeof(text), "  L_%-6lld %9.3f nats\n", static_cast<long long>(kk), value);
    std::cout << text;
  }
  std::snprintf(text, sizeof(text), "%.1f s, %.0f images/s\n", r.seconds, r.images / r.seconds);
  std::cout << text;
}

}  // namespace

int eval_command(int argc, char** argv) {
  cxxopts::Options options("vae eval",
                           "Test-set log-likelihood: the importance-weighted bound L_k (Burda et "
                           "al. 2015), the ELBO, the gap between them, and bits per dimension.");
  add_eval_options(options);
  const auto parsed = parse_command(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& result = *parsed;
  require_flag(result, "checkpoint", "vae eval needs --checkpoint");
  const std::string checkpoint = result["checkpoint"].as<std::string>();
  LikelihoodEvalOptions eval;
  eval.k = positive<int64_t>(result, "k", 1);
  if (result.count("k-curve")) eval.k_curve = result["k-curve"].as<std::vector<int64_t>>();
  eval.batch_size = positive<int64_t>(result, "batch-size", 1);
  const int64_t threads = configure_threads(positive<int64_t>(result, "threads", 0));
  TrainedModel trained =
      load_trained_model(checkpoint, json::object(), result["device"].as<std::string>());
  const std::string binarize_flag = result["binarize"].as<std::string>();
  const Binarize mode =
      binarize_flag.empty() ? trained.config.binarize : parse_binarize(binarize_flag);
  // load_test_images binarizes as the run did; choose the mode asked for.
  trained.config.binarize = mode;
  ImageDataset test = take_first(load_test_images(trained, result["data-dir"].as<std::string>()),
                                 positive<int64_t>(result, "test-size", 0));
  torch::manual_seed(static_cast<uint64_t>(positive<int64_t>(result, "seed", 0)));
  // A binarized run's test set is one fixed draw, whichever mode trained it.
  const std::string scored =
      test_binarization(mode) == Binarize::kStatic
          ? " (scored on one fixed binary draw, seed " + std::to_string(kBinarizeSeed) + ")"
          : std::string();
  std::cout << "vae eval | " << describe_runtime(trained.device, threads, detect_blas()) << "\n"
            << test.size() << " test images, binarize " << to_string(mode) << scored
            << ", k = " << eval.k << "\n";
  if (mode == Binarize::kNone && trained.config.network.likelihood()->binary_data()) {
    std::cout << "note: grey-level pixels under a Bernoulli decoder: the numbers are bounds on a "
                 "cross-entropy, not a normalised log-likelihood; use --binarize for published "
                 "comparisons\n";
  }
  eval.log = &std::cout;
  eval.terminal = is_terminal(1);
  const LikelihoodEvalResult r =
      evaluate_log_likelihood(trained.model, test.images, trained.device, eval);
  print_eval(r);
  nlohmann::json out = r.to_json();
  out["checkpoint"] = checkpoint;
  out["binarize"] = to_string(mode);
  std::string out_path = result["out"].as<std::string>();
  if (out_path.empty())
    out_path = (std::filesystem::path(checkpoint).parent_path() / "eval.json").string();
  write_file_atomically(out_path, out.dump(2) + "\n");
  std::cout << "wrote " << out_path << "\n";
  const std::string per_image = result["per-image"].as<std::string>();
  if (!per_image.empty()) {
    std::vector<std::string> names;
    for (int64_t i = 0; i < test.size(); ++i)
      names.push_back("test#" + std::to_string(i));
    write_file_atomically(per_image, per_image_csv(names, r));
    std::cout << "wrote " << per_image << "\n";
  }
  return 0;
}

int score_command(int argc, char** argv) {
  cxxopts::Options options("vae score",
                           "Per-image anomaly scores: -ELBO and the -log p(x) estimate -L_k, "
                           "in nats. INPUT: picture files, directories, or IDX files.");
  options.positional_help("INPUT...");
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "k", "importance samples per image", cxxopts::value<int64_t>()->default_value("100"))(
      "out", "CSV file (default: standard output)",
      cxxopts::value<std::string>()->default_value(""))(
      "invert", invert_modes().choices() + " (pictures)",
      cxxopts::value<std::string>()->default_value("auto"))(
      "batch-size", "images per pass", cxxopts::value<int64_t>()->default_value("100"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "device", device_choices().choices(), cxxopts::value<std::string>()->default_value("auto"))(
      "methods",
      "columns besides -ELBO and -L_k: complexity, ratio (with --background), regret (see vae "
      "ood; typicality scores sets, not images)",
      cxxopts::value<std::vector<std::string>>())("background",
                                                  "checkpoint of the background model (ratio)",
                                                  cxxopts::value<std::string>()->default_value(""))(
      "inputs", "", cxxopts::value<std::vector<std::string>>())("h,help", "show this help");
  options.parse_positional({"inputs"});
  const auto parsed = parse_command(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& result = *parsed;
  require_flag(result, "checkpoint", "vae score needs --checkpoint");
  require_flag(result, "inputs", "vae score needs at least one INPUT");
  // The likelihood is always written (neg_log_px); the others add a column.
  std::vector<OodMethod> methods;
  if (result.count("methods")) {
    for (OodMethod m : parse_ood_methods(result["methods"].as<std::vector<std::string>>(),
                                         !result["background"].as<std::string>().empty())) {
      if (m == OodMethod::kTypicality)
        throw UsageError("typicality scores sets of inputs, not one image: use vae ood");
      if (m != OodMethod::kLikelihood) methods.push_back(m);
    }
  }
  configure_threads(0);
  TrainedModel trained = load_trained_model(result["checkpoint"].as<std::string>(), json::object(),
                                            result["device"].as<std::string>());
  const int64_t h = trained.config.network.height(), w = trained.config.network.width();
  const std::vector<InputItem> items =
      expand_inputs(result["inputs"].as<std::vector<std::string>>(), h, w);
  const Invert invert = parse_invert(result["invert"].as<std::string>());
  std::vector<torch::Tensor> images;
  for (const InputItem& item : items)
    images.push_back(load_item(item, h, w, invert, trained.config.network.in_channels()));
  const torch::Tensor stacked = torch::stack(images);
  torch::manual_seed(static_cast<uint64_t>(positive<int64_t>(result, "seed", 0)));
  LikelihoodEvalOptions eval;
  eval.k = positive<int64_t>(result, "k", 1);
  eval.batch_size = positive<int64_t>(result, "batch-size", 1);
  const LikelihoodEvalResult r =
      evaluate_log_likelihood(trained.model, stacked, trained.device, eval);
  std::vector<std::string> names;
  for (const InputItem& item : items)
    names.push_back(item.name);
  std::vector<std::pair<std::string, std::vector<double>>> extra;
  for (OodMethod m : methods) {
    std::vector<double> column;
    if (m == OodMethod::kComplexity) {
      column = complexity_scores(r.per_image_neg_log_px(), stacked);
    } else if (m == OodMethod::kRatio) {
      TrainedModel background =
          load_trained_model(result["background"].as<std::string>(), json::object(), "auto");
      torch::manual_seed(static_cast<uint64_t>(positive<int64_t>(result, "seed", 0)));
      column =
          ratio_scores(r.per_image_neg_log_px(),
                       evaluate_log_likelihood(background.model, stacked, background.device, eval)
                           .per_image_neg_log_px());
    } else {
      RegretOptions regret;
      regret.seed = static_cast<uint64_t>(positive<int64_t>(result, "seed", 0));
      column = likelihood_regret(trained.model, stacked, trained.device, regret);
    }
    extra.emplace_back(ood_methods().name(m), column);
  }
  const std::string csv = per_image_csv(names, r, extra);
  const std::string out = result["out"].as<std::string>();
  if (out.empty()) {
    std::cout << csv;
  } else {
    write_file_atomically(out, csv);
  }
  std::cerr << "scored " << items.size() << " images (k = " << eval.k << ") in " << r.seconds
            << " s\n";
  return 0;
}

}  // namespace vae::cli
