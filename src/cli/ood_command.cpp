// vae ood: how well each anomaly score (evaluation/anomaly_scores.h) tells a
// set of inputs the model was trained for from another set: AUROC, AUPR and
// FPR at 95 % TPR per method, printed and written with a histogram each.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <tuple>

#include "command_line.h"
#include "commands.h"
#include "vae/data/batcher.h"
#include "vae/data/data_source.h"
#include "vae/data/image_folder.h"
#include "vae/evaluation/anomaly_scores.h"
#include "vae/evaluation/likelihood_eval.h"
#include "vae/evaluation/ood_metrics.h"
#include "vae/run/run_setup.h"
#include "vae/run/trained_model.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/progress.h"
#include "vae/runtime/runtime.h"
#include "vae/views/image_grid.h"
#include "vae/views/ood_plots.h"

namespace vae::cli {
namespace {

using Clock = std::chrono::steady_clock;

// uint8 [N, C, H, W] as the model is scored on them (a binarized run's one
// fixed draw).
torch::Tensor model_images(const ImageDataset& data, const TrainedModel& trained) {
  const torch::Tensor images = data.images.dim() == 3 ? data.images.unsqueeze(1) : data.images;
  return as_scored(images, trained.config.binarize).contiguous();
}

// The images of --in / --out: an IDX directory's test set, or a folder of
// pictures at their own size; uint8 [N, C, H, W] as the model reads them
// (a binarized model's one fixed draw).
torch::Tensor load_set(const std::string& flag, const std::string& path,
                       const TrainedModel& trained, int64_t limit) {
  const NetworkOptions& o = trained.config.network;
  ImageDataset data;
  if (holds_idx_files(path)) {
    data = load_mnist(path, Split::kTest);
  } else if (std::filesystem::is_directory(path) && holds_pictures(path)) {
    ImageFolderOptions options;
    options.color = o.in_channels() == 3 ? ColorMode::kRgb : ColorMode::kGrey;
    data = load_image_folder(list_image_folder(path), options).data;
  } else {
    throw UsageError("--" + flag + " " + path +
                     " is neither a directory of IDX files (t10k-images-idx3-ubyte) nor a folder "
                     "of pictures");
  }
  if (data.channels() != o.in_channels() || data.height() != o.height() ||
      data.width() != o.width()) {
    throw Error("--" + flag + " " + path + " holds " +
                shape_text(data.channels(), data.height(), data.width()) +
                " images; the model reads " + shape_text(o.in_channels(), o.height(), o.width()));
  }
  return model_images(take_first(data, limit), trained);
}

// A mixed set split by a CSV of "index,label" rows (label 1: out, 0: in;
// one row per image of the set, a header line first).
std::pair<torch::Tensor, torch::Tensor> split_by_labels(const torch::Tensor& images,
                                                        const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error("cannot read --labels-csv " + path);
  std::string line;
  std::getline(file, line);  // header
  std::vector<int64_t> in, out;
  std::vector<bool> seen(static_cast<size_t>(images.size(0)), false);
  for (int row = 2; std::getline(file, line); ++row) {
    if (line.empty()) continue;
    long long index = -1;
    int label = -1;
    char tail = 0;
    if (std::sscanf(line.c_str(), "%lld,%d%c", &index, &label, &tail) != 2 ||
        (label != 0 && label != 1) || index < 0 || index >= images.size(0) ||
        seen[static_cast<size_t>(index)]) {
      throw Error("--labels-csv " + path + " line " + std::to_string(row) +
                  ": expected 'index,label' with a new index below " +
                  std::to_string(images.size(0)) + " and label 0 (in) or 1 (out), got '" + line +
                  "'");
    }
    seen[static_cast<size_t>(index)] = true;
    (label == 1 ? out : in).push_back(index);
  }
  if (in.empty() || out.empty())
    throw Error("--labels-csv " + path + " must label images of both kinds (0 = in, 1 = out)");
  return {images.index_select(0, torch::tensor(in)), images.index_select(0, torch::tensor(out))};
}

// -L_k per image [N] of a model.
std::vector<double> neg_log_px(VAE& model, const torch::Tensor& images, torch::Device device,
                               int64_t k, int64_t batch_size) {
  LikelihoodEvalOptions eval;
  eval.k = k;
  eval.batch_size = batch_size;
  return evaluate_log_likelihood(model, images, device, eval).per_image_neg_log_px();
}

struct MethodResult {
  std::string name;
  std::vector<double> in, out;
  Separation separation;
  double seconds = 0.0;
};

// --methods, or every method whose inputs are given (ratio: --background).
std::vector<OodMethod> chosen_methods(const cxxopts::ParseResult& result, bool background) {
  if (result.count("methods"))
    return parse_ood_methods(result["methods"].as<std::vector<std::string>>(), background);
  std::vector<std::string> names = ood_methods().names();
  if (!background) names.erase(std::find(names.begin(), names.end(), "ratio"));
  return parse_ood_methods(names, background);
}

std::string table_text(const std::vector<MethodResult>& results) {
  std::ostringstream text;
  text << "method        AUROC   AUPR    FPR@95%TPR  mean in     mean out    seconds\n";
  for (const MethodResult& r : results) {
    double in = 0.0, out = 0.0;
    for (double v : r.in)
      in += v / static_cast<double>(r.in.size());
    for (double v : r.out)
      out += v / static_cast<double>(r.out.size());
    char line[200];
    std::snprintf(line, sizeof(line), "%-12s  %.4f  %.4f  %.4f      %-10.2f  %-10.2f  %.1f\n",
                  r.name.c_str(), r.separation.auroc, r.separation.aupr, r.separation.fpr_at_95_tpr,
                  in, out, r.seconds);
    text << line;
  }
  return text.str();
}

}  // namespace

int ood_command(int argc, char** argv) {
  cxxopts::Options options(
      "vae ood",
      "How well anomaly scores tell the inputs a model was trained for (--in) from others "
      "(--out): AUROC, AUPR and FPR at 95 % TPR per method, histograms. Scores: " +
          ood_methods().choices());
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "in", "in-distribution set: an IDX directory (its test set) or a folder of pictures",
      cxxopts::value<std::string>())("out", "out-of-distribution set, the same kinds",
                                     cxxopts::value<std::string>())(
      "labels-csv",
      "instead of --out: --in is a mixed set and this CSV labels it (index,label; 1 = out)",
      cxxopts::value<std::string>())("methods",
                                     "comma-separated (default: all; ratio only with --background)",
                                     cxxopts::value<std::vector<std::string>>())(
      "background", "checkpoint of the background model (ratio)",
      cxxopts::value<std::string>()->default_value(""))(
      "k", "importance samples per image for -log p(x)",
      cxxopts::value<int64_t>()->default_value("100"))(
      "limit", "first N images of each set (0 = all)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "regret-steps", "regret: Adam steps per image",
      cxxopts::value<int64_t>()->default_value("20"))(
      "regret-lr", "regret: their learning rate", cxxopts::value<double>()->default_value("1e-3"))(
      "regret-limit", "regret: first N images of each set (0 = as --limit)",
      cxxopts::value<int64_t>()->default_value("0"))("typicality-batch",
                                                     "typicality: inputs per tested batch",
                                                     cxxopts::value<int64_t>()->default_value("1"))(
      "reference", "typicality: training images whose mean -log p(x) is the entropy",
      cxxopts::value<int64_t>()->default_value("5000"))(
      "report",
      "folder for ood.csv, ood.json, scores.csv and the histograms (default: ood/ "
      "beside the checkpoint)",
      cxxopts::value<std::string>()->default_value(""))(
      "batch-size", "images per pass", cxxopts::value<int64_t>()->default_value("100"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "device", device_choices().choices(), cxxopts::value<std::string>()->default_value("auto"))(
      "h,help", "show this help");
  const auto parsed = parse_command(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& result = *parsed;
  require_flag(result, "checkpoint", "vae ood needs --checkpoint");
  require_flag(result, "in", "vae ood needs --in (the inputs the model was trained for)");
  const bool mixed = result.count("labels-csv") > 0;
  if (mixed == (result.count("out") > 0))
    throw UsageError(
        "vae ood needs --out (the inputs to flag) or --labels-csv (a mixed --in set), one of them");
  const std::string background_path = result["background"].as<std::string>();
  const std::vector<OodMethod> methods = chosen_methods(result, !background_path.empty());
  const int64_t k = positive<int64_t>(result, "k", 1);
  const int64_t limit = positive<int64_t>(result, "limit", 0);
  const int64_t batch_size = positive<int64_t>(result, "batch-size", 1);
  const int64_t typicality_batch = positive<int64_t>(result, "typicality-batch", 1);
  const int64_t reference = positive<int64_t>(result, "reference", 1);
  RegretOptions regret;
  regret.steps = positive<int64_t>(result, "regret-steps", 1);
  regret.lr = result["regret-lr"].as<double>();
  if (!(regret.lr > 0.0)) throw UsageError("--regret-lr must be positive");
  const int64_t regret_limit = positive<int64_t>(result, "regret-limit", 0);
  const uint64_t seed = static_cast<uint64_t>(positive<int64_t>(result, "seed", 0));
  regret.seed = seed;
  const int64_t threads = configure_threads(0);
  const std::string checkpoint = result["checkpoint"].as<std::string>();
  TrainedModel trained =
      load_trained_model(checkpoint, json::object(), result["device"].as<std::string>());
  TrainedModel background;
  if (!background_path.empty()) {
    background = load_trained_model(background_path, json::object(), "auto");
    const NetworkOptions &a = trained.config.network, &b = background.config.network;
    if (a.in_channels() != b.in_channels() || a.height() != b.height() || a.width() != b.width() ||
        trained.config.binarize != background.config.binarize) {
      throw Error("--background " + background_path +
                  " reads other inputs than the model (image shape or binarization differ)");
    }
  }
  torch::Tensor in = load_set("in", result["in"].as<std::string>(), trained, mixed ? 0 : limit);
  torch::Tensor out;
  if (mixed) {
    std::tie(in, out) = split_by_labels(in, result["labels-csv"].as<std::string>());
    if (limit > 0) {
      in = in.narrow(0, 0, std::min(limit, in.size(0)));
      out = out.narrow(0, 0, std::min(limit, out.size(0)));
    }
  } else {
    out = load_set("out", result["out"].as<std::string>(), trained, limit);
  }
  std::string report = result["report"].as<std::string>();
  if (report.empty()) report = (std::filesystem::path(checkpoint).parent_path() / "ood").string();
  std::cout << "vae ood | " << describe_runtime(trained.device, threads, detect_blas()) << "\n"
            << "in: " << in.size(0) << " images, out: " << out.size(0) << " images, k = " << k
            << "\n";

  std::vector<MethodResult> results;
  const auto run = [&](OodMethod method, const std::function<void(MethodResult&)>& score) {
    MethodResult r;
    r.name = ood_methods().name(method);
    const auto start = Clock::now();
    score(r);
    r.seconds = seconds_since(start);
    r.separation = separation(r.in, r.out);
    results.push_back(r);
    std::cout << r.name << ": AUROC " << r.separation.auroc << " (" << r.seconds << " s)\n";
  };
  // -log p(x) of both sets: the likelihood itself and what three corrections start from.
  std::vector<double> nll_in, nll_out;
  const auto nll = [&]() {
    if (!nll_in.empty()) return;
    torch::manual_seed(seed);
    nll_in = neg_log_px(trained.model, in, trained.device, k, batch_size);
    nll_out = neg_log_px(trained.model, out, trained.device, k, batch_size);
  };
  for (OodMethod method : methods) {
    switch (method) {
      case OodMethod::kLikelihood:
        run(method, [&](MethodResult& r) {
          nll();
          r.in = nll_in;
          r.out = nll_out;
        });
        break;
      case OodMethod::kComplexity:
        run(method, [&](MethodResult& r) {
          nll();
          r.in = complexity_scores(nll_in, in);
          r.out = complexity_scores(nll_out, out);
        });
        break;
      case OodMethod::kRatio:
        run(method, [&](MethodResult& r) {
          nll();
          torch::manual_seed(seed);
          r.in = ratio_scores(nll_in,
                              neg_log_px(background.model, in, background.device, k, batch_size));
          r.out = ratio_scores(nll_out,
                               neg_log_px(background.model, out, background.device, k, batch_size));
        });
        break;
      case OodMethod::kRegret:
        run(method, [&](MethodResult& r) {
          const int64_t n = regret_limit > 0 ? regret_limit : in.size(0) + out.size(0);
          regret.log = &std::cout;
          regret.terminal = is_terminal(1);
          r.in = likelihood_regret(trained.model, in.narrow(0, 0, std::min(n, in.size(0))),
                                   trained.device, regret);
          r.out = likelihood_regret(trained.model, out.narrow(0, 0, std::min(n, out.size(0))),
                                    trained.device, regret);
        });
        {
          const MethodResult& r = results.back();
          std::printf("regret: %.2f ms per image (%d Adam steps)\n",
                      1000.0 * r.seconds / static_cast<double>(r.in.size() + r.out.size()),
                      static_cast<int>(regret.steps));
        }
        break;
      case OodMethod::kTypicality:
        run(method, [&](MethodResult& r) {
          nll();
          const torch::Tensor images = model_images(
              take_first(load_data_sets(data_source(trained.config)).train, reference), trained);
          torch::manual_seed(seed);
          const std::vector<double> ref =
              neg_log_px(trained.model, images, trained.device, k, batch_size);
          double entropy = 0.0;
          for (double v : ref)
            entropy += v / static_cast<double>(ref.size());
          r.in = typicality_scores(nll_in, entropy, typicality_batch);
          r.out = typicality_scores(nll_out, entropy, typicality_batch);
          if (r.in.empty() || r.out.empty())
            throw UsageError("--typicality-batch is larger than a set");
        });
        break;
    }
  }
  const std::string table = table_text(results);
  std::cout << table;
  std::filesystem::create_directories(report);
  std::ostringstream csv;
  csv << "method,auroc,aupr,fpr_at_95_tpr,n_in,n_out,seconds\n";
  json out_json = json::object();
  out_json["checkpoint"] = checkpoint;
  out_json["in"] = result["in"].as<std::string>();
  out_json["out"] =
      mixed ? result["labels-csv"].as<std::string>() : result["out"].as<std::string>();
  out_json["k"] = k;
  for (const MethodResult& r : results) {
    char line[200];
    std::snprintf(line, sizeof(line), "%s,%.6f,%.6f,%.6f,%lld,%lld,%.2f\n", r.name.c_str(),
                  r.separation.auroc, r.separation.aupr, r.separation.fpr_at_95_tpr,
                  static_cast<long long>(r.separation.in), static_cast<long long>(r.separation.out),
                  r.seconds);
    csv << line;
    out_json["methods"][r.name] = {{"auroc", r.separation.auroc},
                                   {"aupr", r.separation.aupr},
                                   {"fpr_at_95_tpr", r.separation.fpr_at_95_tpr},
                                   {"seconds", r.seconds}};
    write_png(report + "/hist_" + r.name + ".png",
              score_histograms(r.name, r.in, r.out, r.separation));
  }
  write_file_atomically(report + "/ood.csv", csv.str());
  write_file_atomically(report + "/ood.json", out_json.dump(2) + "\n");
  // Per-image scores: one row per image of either set and method.
  std::ostringstream scores;
  scores << "method,set,index,score\n";
  for (const MethodResult& r : results) {
    for (size_t i = 0; i < r.in.size(); ++i)
      scores << r.name << ",in," << i << ',' << r.in[i] << '\n';
    for (size_t i = 0; i < r.out.size(); ++i)
      scores << r.name << ",out," << i << ',' << r.out[i] << '\n';
  }
  write_file_atomically(report + "/scores.csv", scores.str());
  std::cout << "wrote " << report << "/{ood.csv,ood.json,scores.csv,hist_*.png}\n";
  return 0;
}

}  // namespace vae::cli
