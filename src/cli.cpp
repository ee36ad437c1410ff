#include "vae/cli.h"

#include <c10/util/Exception.h>
#include <cxxopts.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "vae/amortized_inference.h"
#include "vae/atomic_file.h"
#include "vae/batcher.h"
#include "vae/bench.h"
#include "vae/config.h"
#include "vae/distributed.h"
#include "vae/error.h"
#include "vae/image_grid.h"
#include "vae/importance_sampling.h"
#include "vae/interrupt.h"
#include "vae/likelihood_eval.h"
#include "vae/model_views.h"
#include "vae/progress.h"
#include "vae/runtime.h"
#include "vae/torchscript_export.h"
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
    "  train        train a VAE on MNIST-format data (vae train --help)\n"
    "  sample       decode samples from the prior into an image grid\n"
    "  reconstruct  test images and their reconstructions, in paired rows\n"
    "  interpolate  decode the path between two test images' posterior means\n"
    "  traverse     sweep each latent dimension, most informative first\n"
    "  manifold     the decoded grid over the two most informative dimensions\n"
    "  scatter      test-set posterior means coloured by digit\n"
    "  (each takes --checkpoint runs/NAME/checkpoint.pt --out FILE.png; see vae CMD --help)\n"
    "  export       write the encoder and decoder as TorchScript (encoder.pt, decoder.pt)\n"
    "  encode       posterior mean and sigma of images, with an exported encoder\n"
    "  generate     samples from an exported decoder\n"
    "  eval         test-set log p(x) by importance sampling, the ELBO and the gap\n"
    "  score        per-image -ELBO and -log p(x) estimates (anomaly scores)\n"
    "  bench        time training, evaluation and encoding; GFLOP/s vs the matmul rate\n"
    "  help         show this text\n"
    "  version      print the version\n";

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

// Settings a rank may hold for itself in data-parallel training (its own
// data copy, threads, device); every other setting comes from rank 0.
const std::vector<std::string> kRankLocalKeys = {"data-dir", "threads", "device", "log-interval"};

// The run's config, resolved by rank 0 (preset, flags, or the checkpoint on
// --resume) and sent to every rank, so that all train the same run; a rank
// whose own flags disagree stops with a message. Rank 0's failure reaches
// the others as its message.
TrainConfig shared_config(Communicator& comm, const std::function<TrainConfig()>& resolve,
                          const json& given) {
  std::string message;
  if (comm.rank() == 0) {
    try {
      message = "ok" + to_json(resolve()).dump();
    } catch (const Error& e) {
      comm.broadcast_string("error" + std::string(e.what()));
      throw;
    }
  }
  message = comm.broadcast_string(message);
  if (message.rfind("error", 0) == 0) {
    throw Error("rank 0 stopped: " + message.substr(5));
  }
  const json shared = json::parse(message.substr(2));
  TrainConfig config;
  apply_settings(config, shared, "rank 0");
  json local = json::object();
  for (const auto& [key, value] : given.items()) {
    if (std::find(kRankLocalKeys.begin(), kRankLocalKeys.end(), key) != kRankLocalKeys.end()) {
      local[key] = value;
    } else if (key != "model" && key != "out" && shared.contains(key) && shared[key] != value) {
      throw Error("rank " + std::to_string(comm.rank()) + " was given --" + key + " " +
                  value.dump() + ", rank 0 trains with " + shared[key].dump() +
                  ": start every rank with the same flags");
    }
  }
  apply_settings(config, local, "command line");
  return config;
}

int train_command(int argc, char** argv) {
  cxxopts::Options options("vae train",
                           "Train a variational autoencoder on MNIST-format IDX data.\n"
                           "Settings apply on top of the --model preset (models/NAME.json).");
  add_setting_flags(options);
  options.add_options("run")("resume", "continue the run in --out from its checkpoint")(
      "overwrite", "replace a run already in --out")("h,help", "show this help");
  options.add_options("distributed")("rank",
                                     "this process's rank, 0 .. world size - 1 [$RANK, else 0]",
                                     cxxopts::value<int64_t>())(
      "world-size", "processes training together [$WORLD_SIZE, else 1]", cxxopts::value<int64_t>())(
      "master-addr", "address of rank 0, which hosts the rendezvous [$MASTER_ADDR, else 127.0.0.1]",
      cxxopts::value<std::string>())("master-port",
                                     "rendezvous port on rank 0 [$MASTER_PORT, else 29500]",
                                     cxxopts::value<int64_t>())(
      "dist-timeout",
      "seconds to wait for the other ranks, at the rendezvous and in every collective [300]",
      cxxopts::value<double>());

  cxxopts::ParseResult result;
  try {
    result = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see vae train --help)");
  }
  if (result.count("help")) {
    std::cout << options.help({"settings", "run", "distributed"});
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

  DistributedOptions dist;
  try {
    dist = distributed_options_from_environment();
    if (result.count("rank")) dist.rank = result["rank"].as<int64_t>();
    if (result.count("world-size")) {
      dist.world_size = result["world-size"].as<int64_t>();
      if (std::getenv("LOCAL_WORLD_SIZE") == nullptr) dist.local_world_size = dist.world_size;
    }
    if (result.count("master-addr")) dist.master_addr = result["master-addr"].as<std::string>();
    if (result.count("master-port")) dist.master_port = result["master-port"].as<int64_t>();
    if (result.count("dist-timeout")) dist.timeout_s = result["dist-timeout"].as<double>();
    if (std::getenv("LOCAL_RANK") == nullptr) {
      dist.local_rank = dist.rank % std::max<int64_t>(1, dist.local_world_size);
    }
    dist.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }

  const auto resolve = [&]() {
    TrainConfig config;
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
    return config;
  };

  if (!dist.enabled()) {
    TrainConfig config;
    try {
      config = resolve();
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    train(config, train_options);
    return 0;
  }

  // Data parallel: join the group first, then take rank 0's config.
  const std::string device_flag =
      given.contains("device") ? given["device"].get<std::string>() : "auto";
  std::unique_ptr<Communicator> comm = Communicator::connect(dist, select_device(device_flag));
  train_options.comm = comm.get();
  train_options.local_processes = dist.local_world_size;
  train_options.local_rank = dist.local_rank;
  train(shared_config(*comm, resolve, given), train_options);
  // Nobody leaves before everybody is done (rank 0 hosts the store).
  comm->barrier();
  return 0;
}

// Model settings a picture command may state; a checkpoint that disagrees is
// refused (a picture of another model than the user thinks is worse than none).
const std::vector<std::string> kModelKeys = {"arch", "hidden", "channels", "latent-dim",
                                             "likelihood"};

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

// Parses the flags (after the one-letter rewrite); cxxopts errors become usage errors.
cxxopts::ParseResult parse_or_usage(cxxopts::Options& options, int argc, char** argv) {
  std::vector<std::string> words = one_letter_flags(argc, argv);
  std::vector<char*> args;
  for (std::string& word : words)
    args.push_back(word.data());
  try {
    cxxopts::ParseResult result = options.parse(static_cast<int>(args.size()), args.data());
    if (!result.unmatched().empty()) {
      throw UsageError("unexpected argument '" + result.unmatched().front() + "' (see " +
                       options.program() + " --help)");
    }
    return result;
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see " + options.program() + " --help)");
  }
}

void add_grid_options(cxxopts::Options& options) {
  options.add_options("grid")("scale", "pixels per image pixel",
                              cxxopts::value<int64_t>()->default_value("3"))(
      "padding", "pixels between images", cxxopts::value<int64_t>()->default_value("2"))(
      "columns", "images per row", cxxopts::value<int64_t>()->default_value("8"));
}

template <typename T>
T positive(const cxxopts::ParseResult& result, const std::string& key, T minimum) {
  const T value = result[key].as<T>();
  if (value < minimum) {
    throw UsageError("--" + key + " must be at least " + std::to_string(minimum) + ", not " +
                     std::to_string(value));
  }
  return value;
}

GridOptions grid_options(const cxxopts::ParseResult& result) {
  GridOptions grid;
  grid.scale = positive<int64_t>(result, "scale", 1);
  grid.padding = positive<int64_t>(result, "padding", 0);
  grid.columns = positive<int64_t>(result, "columns", 1);
  return grid;
}

int64_t image_index(const cxxopts::ParseResult& result, const std::string& key, int64_t size) {
  const int64_t index = result[key].as<int64_t>();
  if (index < 0 || index >= size) {
    throw UsageError("--" + key + " " + std::to_string(index) + " is not a test image index (0.." +
                     std::to_string(size - 1) + ")");
  }
  return index;
}

int view_command(const std::string& name, int argc, char** argv) {
  static const std::map<std::string, std::string> kDescriptions = {
      {"sample", "Decode samples z ~ N(0, T^2 I) into an image grid."},
      {"reconstruct",
       "Test images and their reconstructions (decoded posterior means), "
       "in paired rows."},
      {"interpolate",
       "Decode the line (or, with --spherical, the great circle) between the "
       "posterior means of two test images."},
      {"traverse",
       "One row per latent dimension, ordered by KL, sweeping it over "
       "[-range, range] with the others at a test image's posterior mean; "
       "inactive dimensions are marked 'off'."},
      {"manifold",
       "The decoded grid over the Gaussian inverse CDF of the two most "
       "informative latent dimensions (Kingma & Welling 2013, fig. 4)."},
      {"scatter", "The test set's posterior means as points coloured by digit label."}};
  cxxopts::Options options("vae " + name, kDescriptions.at(name));
  options.add_options("common")("checkpoint", "checkpoint of a trained run",
                                cxxopts::value<std::string>())(
      "out", "PNG file to write", cxxopts::value<std::string>()->default_value(name + ".png"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "data-dir", "test data (default: the run's --data-dir)",
      cxxopts::value<std::string>()->default_value(""))(
      "device", "auto | cpu | cuda", cxxopts::value<std::string>()->default_value("auto"))(
      "h,help", "show this help");
  add_grid_options(options);
  auto model = options.add_options("model check (refuse a checkpoint that differs)");
  model("arch", "mlp | conv", cxxopts::value<std::string>())(
      "hidden", "hidden sizes", cxxopts::value<std::vector<int64_t>>())(
      "channels", "conv channels", cxxopts::value<std::vector<int64_t>>())(
      "latent-dim", "latent dimensions", cxxopts::value<int64_t>())(
      "likelihood", "bernoulli | gaussian", cxxopts::value<std::string>());
  auto own = options.add_options(name);
  if (name == "sample") {
    own("n", "number of samples", cxxopts::value<int64_t>()->default_value("64"))(
        "mode", "mean (pixel probabilities) | sample (drawn pixels)",
        cxxopts::value<std::string>()->default_value("mean"))(
        "temperature", "scale of the prior's standard deviation",
        cxxopts::value<double>()->default_value("1.0"));
  } else if (name == "reconstruct") {
    own("n", "number of test images", cxxopts::value<int64_t>()->default_value("32"))(
        "first", "index of the first test image", cxxopts::value<int64_t>()->default_value("0"))(
        "labels", "label the rows (test / recon)");
  } else if (name == "interpolate") {
    own("from", "test image index", cxxopts::value<int64_t>()->default_value("0"))(
        "to", "test image index", cxxopts::value<int64_t>()->default_value("1"))(
        "steps", "decoded points", cxxopts::value<int64_t>()->default_value("10"))(
        "spherical", "spherical interpolation (slerp)");
  } else if (name == "traverse") {
    own("index", "test image whose posterior mean is the centre",
        cxxopts::value<int64_t>()->default_value("0"))(
        "steps", "points per row", cxxopts::value<int64_t>()->default_value("9"))(
        "range", "sweep from -range to +range", cxxopts::value<double>()->default_value("3.0"));
  } else if (name == "manifold") {
    own("n", "grid side", cxxopts::value<int64_t>()->default_value("20"));
  } else if (name == "scatter") {
    own("pca", "plot the first two principal components of the means")(
        "size", "plot width and height in pixels", cxxopts::value<int64_t>()->default_value("800"));
  }

  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (result.count("checkpoint") == 0) {
    throw UsageError("vae " + name + " needs --checkpoint runs/NAME/checkpoint.pt");
  }
  json expected = json::object();
  for (const std::string& key : kModelKeys) {
    if (result.count(key) == 0) continue;
    if (key == "hidden" || key == "channels") {
      expected[key] = result[key].as<std::vector<int64_t>>();
    } else if (key == "latent-dim") {
      expected[key] = result[key].as<int64_t>();
    } else {
      expected[key] = result[key].as<std::string>();
    }
  }
  GridOptions grid = grid_options(result);
  const int64_t seed = positive<int64_t>(result, "seed", 0);
  const std::string out = result["out"].as<std::string>();

  TrainedModel trained = load_trained_model(result["checkpoint"].as<std::string>(), expected,
                                            result["device"].as<std::string>());
  const auto test = [&] { return load_test_images(trained, result["data-dir"].as<std::string>()); };
  cv::Mat image;
  if (name == "sample") {
    image = sample_view(
        trained, positive<int64_t>(result, "n", 1), result["temperature"].as<double>(),
        parse_sample_mode(result["mode"].as<std::string>()), static_cast<uint64_t>(seed), grid);
  } else if (name == "reconstruct") {
    const ImageDataset data = test();
    const int64_t first = image_index(result, "first", data.size());
    const int64_t n = std::min(positive<int64_t>(result, "n", 1), data.size() - first);
    if (result.count("labels")) {
      grid.label_width = 70;
      for (int64_t row = 0; row < n; row += grid.columns) {
        grid.row_labels.push_back("test");
        grid.row_labels.push_back("recon");
      }
    }
    image = reconstruction_view(trained, data.images.narrow(0, first, n), grid);
  } else if (name == "interpolate") {
    const ImageDataset data = test();
    image = interpolation_view(trained, data.images[image_index(result, "from", data.size())],
                               data.images[image_index(result, "to", data.size())],
                               positive<int64_t>(result, "steps", 2), result.count("spherical") > 0,
                               grid);
  } else if (name == "traverse") {
    const ImageDataset data = test();
    image =
        traversal_view(trained, data.images[image_index(result, "index", data.size())],
                       positive<int64_t>(result, "steps", 2), result["range"].as<double>(), grid);
  } else if (name == "manifold") {
    image = manifold_view(trained, positive<int64_t>(result, "n", 1), grid);
  } else {
    image = scatter_view(trained, test(), result.count("pca") > 0,
                         static_cast<int>(positive<int64_t>(result, "size", 300)));
  }
  write_png(out, image);
  std::cout << "wrote " << out << " (" << image.cols << "x" << image.rows << ")\n";
  return 0;
}

int export_command(int argc, char** argv) {
  cxxopts::Options options("vae export",
                           "Write a trained model as TorchScript: encoder.pt (amortized "
                           "inference), decoder.pt, model.json and reference.pt.");
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "out-dir", "directory to write (default models/<run name>)",
      cxxopts::value<std::string>()->default_value(""))(
      "data-dir", "test images for reference.pt (default: the run's)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (result.count("checkpoint") == 0) {
    throw UsageError("vae export needs --checkpoint runs/NAME/checkpoint.pt");
  }
  const std::string checkpoint = result["checkpoint"].as<std::string>();
  std::string out_dir = result["out-dir"].as<std::string>();
  if (out_dir.empty()) {
    out_dir = "models/" + std::filesystem::path(checkpoint).parent_path().filename().string();
  }
  TrainedModel trained = load_trained_model(checkpoint, json::object(), "cpu");
  // Reference inputs: the first 17 test images (a batch size that is not a
  // power of two), or seeded noise images when the data is not at hand.
  torch::Tensor reference;
  try {
    reference =
        load_test_images(trained, result["data-dir"].as<std::string>()).images.narrow(0, 0, 17);
  } catch (const Error& e) {
    std::cerr << "note: " << e.what() << "; reference.pt uses random images\n";
    torch::manual_seed(0);
    reference = torch::randint(
                    0, 256, {17, trained.config.network.height(), trained.config.network.width()})
                    .to(torch::kUInt8);
  }
  const ExportedFiles files =
      export_model(trained.model, to_json(trained.config), trained.history, reference, out_dir);
  std::cout << "wrote " << files.encoder << ", " << files.decoder << ", " << files.metadata << ", "
            << files.reference << "\n";
  return 0;
}

int encode_command(int argc, char** argv) {
  cxxopts::Options options("vae encode",
                           "Posterior q(z|x) = N(mu, sigma^2) of each input image in one encoder "
                           "pass. INPUT: picture files, directories of them, or IDX files.");
  options.positional_help("INPUT...");
  options.add_options()("encoder", "exported encoder (encoder.pt)", cxxopts::value<std::string>())(
      "checkpoint", "or: a training checkpoint (in-process encoder)",
      cxxopts::value<std::string>())("format", "csv | jsonl",
                                     cxxopts::value<std::string>()->default_value("csv"))(
      "out", "output file (default: standard output)",
      cxxopts::value<std::string>()->default_value(""))(
      "batch-size", "images per encoder pass", cxxopts::value<int64_t>()->default_value("256"))(
      "invert", "auto (dark-on-light pictures are inverted) | always | never",
      cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "decoder", "exported decoder, to also write --reconstructions",
      cxxopts::value<std::string>())(
      "reconstructions", "PNG of the first 32 inputs above their decoded posterior means",
      cxxopts::value<std::string>())("inputs", "", cxxopts::value<std::vector<std::string>>())(
      "h,help", "show this help");
  options.parse_positional({"inputs"});
  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (result.count("encoder") + result.count("checkpoint") != 1) {
    throw UsageError("vae encode needs one of --encoder models/NAME/encoder.pt or --checkpoint");
  }
  if (result.count("inputs") == 0) throw UsageError("vae encode needs at least one INPUT");
  if (result.count("reconstructions") != result.count("decoder")) {
    throw UsageError("--reconstructions and --decoder go together");
  }
  EncodeOptions encode;
  encode.batch_size = positive<int64_t>(result, "batch-size", 1);
  encode.invert = parse_invert(result["invert"].as<std::string>());
  encode.format = parse_output_format(result["format"].as<std::string>());
  configure_threads(positive<int64_t>(result, "threads", 0));

  torch::jit::Module script;
  TrainedModel trained;
  EncoderFn encoder;
  int64_t latent_dim = 0, height = 0, width = 0;
  if (result.count("encoder")) {
    script = load_exported(result["encoder"].as<std::string>(), "encoder");
    encoder = torchscript_encoder(script);
    latent_dim = script.attr("latent_dim").toInt();
    const std::vector<int64_t> shape = script.attr("image_shape").toIntVector();
    height = shape.at(1);
    width = shape.at(2);
  } else {
    trained = load_trained_model(result["checkpoint"].as<std::string>(), json::object(), "auto");
    encoder = native_encoder(trained);
    latent_dim = trained.config.network.latent_dim();
    height = trained.config.network.height();
    width = trained.config.network.width();
  }
  torch::jit::Module decoder;
  if (result.count("decoder")) {
    decoder = load_exported(result["decoder"].as<std::string>(), "decoder");
    if (decoder.attr("latent_dim").toInt() != latent_dim) {
      throw Error("the encoder has " + std::to_string(latent_dim) + " latent dimensions but " +
                  result["decoder"].as<std::string>() + " decodes " +
                  std::to_string(decoder.attr("latent_dim").toInt()) +
                  ": they are not one model's pair");
    }
    encode.keep = 32;
  }

  const std::vector<InputItem> items =
      expand_inputs(result["inputs"].as<std::vector<std::string>>(), height, width);
  const std::string out_path = result["out"].as<std::string>();
  EncodeResult encoded;
  if (out_path.empty()) {
    encoded = encode_items(items, encoder, height, width, encode, std::cout);
  } else {
    std::ostringstream buffer;
    encoded = encode_items(items, encoder, height, width, encode, buffer);
    write_file_atomically(out_path, buffer.str());
  }
  char line[200];
  std::snprintf(line, sizeof(line),
                "encoded %lld images in %.2f s: %.0f images/s overall, %.0f images/s in the "
                "encoder\n",
                static_cast<long long>(encoded.images), encoded.seconds,
                encoded.images / std::max(encoded.seconds, 1e-9),
                encoded.images / std::max(encoded.encoder_seconds, 1e-9));
  std::cerr << line;
  if (result.count("decoder")) {
    torch::NoGradGuard no_grad;
    const torch::Tensor decoded = decoder.forward({encoded.kept_mu}).toTensor();
    GridOptions grid;
    grid.columns = 8;
    const torch::Tensor originals = to_model_input(encoded.kept_images, torch::kCPU);
    write_png(result["reconstructions"].as<std::string>(),
              stack_vertically({make_grid(originals, grid), make_grid(decoded, grid)}, 6, 255));
  }
  return 0;
}

int generate_command(int argc, char** argv) {
  cxxopts::Options options("vae generate", "Decoded prior samples from an exported decoder alone.");
  options.add_options()("decoder", "exported decoder (decoder.pt)", cxxopts::value<std::string>())(
      "n", "number of samples", cxxopts::value<int64_t>()->default_value("64"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "out", "PNG file", cxxopts::value<std::string>()->default_value("samples.png"))(
      "h,help", "show this help");
  add_grid_options(options);
  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (result.count("decoder") == 0) throw UsageError("vae generate needs --decoder decoder.pt");
  torch::jit::Module decoder = load_exported(result["decoder"].as<std::string>(), "decoder");
  GridOptions grid = grid_options(result);
  torch::NoGradGuard no_grad;
  const torch::Tensor images = decoder
                                   .get_method("generate")({positive<int64_t>(result, "n", 1),
                                                            positive<int64_t>(result, "seed", 0)})
                                   .toTensor();
  const std::string out = result["out"].as<std::string>();
  write_png(out, make_grid(images, grid));
  std::cout << "wrote " << out << "\n";
  return 0;
}

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
  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help({"settings", "bench"});
    return 0;
  }
  const json given = given_settings(result);
  TrainConfig config;
  BenchOptions bench;
  try {
    if (given.contains("model")) config.model = given["model"].get<std::string>();
    apply_preset_file(config, find_preset(config.model));
    apply_settings(config, given, "command line");
    validate(config);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  bench.steps = positive<int64_t>(result, "steps", 0);
  bench.warmup = positive<int64_t>(result, "warmup", 0);
  bench.repeats = positive<int64_t>(result, "repeats", 1);
  bench.baseline = result.count("baseline") > 0;
  const std::string json_path = result["json"].as<std::string>();
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

int eval_command(int argc, char** argv) {
  cxxopts::Options options("vae eval",
                           "Test-set log-likelihood: the importance-weighted bound L_k (Burda et "
                           "al. 2015), the ELBO, the gap between them, and bits per dimension.");
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "k", "importance samples per image", cxxopts::value<int64_t>()->default_value("5000"))(
      "k-curve", "also report L_k for these k (e.g. 1,5,50,500,5000)",
      cxxopts::value<std::vector<int64_t>>())(
      "binarize", "none | dynamic | static (fixed-seed binary test set); default: the run's",
      cxxopts::value<std::string>()->default_value(""))(
      "data-dir", "test data (default: the run's)",
      cxxopts::value<std::string>()->default_value(""))(
      "test-size", "first N test images (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "batch-size", "images per pass", cxxopts::value<int64_t>()->default_value("100"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "device", "auto | cpu | cuda", cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "out", "JSON results (default: eval.json beside the checkpoint)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (result.count("checkpoint") == 0) throw UsageError("vae eval needs --checkpoint");
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
  std::cout << "vae eval | " << describe_runtime(trained.device, threads, detect_blas()) << "\n"
            << test.size() << " test images, binarize " << to_string(mode) << ", k = " << eval.k
            << "\n";
  if (mode == Binarize::kNone && trained.config.network.likelihood() == Likelihood::kBernoulli) {
    std::cout << "note: grey-level pixels under a Bernoulli decoder: the numbers are bounds on a "
                 "cross-entropy, not a normalised log-likelihood; use --binarize for published "
                 "comparisons\n";
  }
  eval.log = &std::cout;
  eval.terminal = is_terminal(1);
  const LikelihoodEvalResult r =
      evaluate_log_likelihood(trained.model, test.images, trained.device, eval);
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
  nlohmann::json out = r.to_json();
  out["checkpoint"] = checkpoint;
  out["binarize"] = to_string(mode);
  std::string out_path = result["out"].as<std::string>();
  if (out_path.empty())
    out_path = (std::filesystem::path(checkpoint).parent_path() / "eval.json").string();
  write_file_atomically(out_path, out.dump(2) + "\n");
  std::cout << "wrote " << out_path << "\n";
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
      "invert", "auto | always | never (pictures)",
      cxxopts::value<std::string>()->default_value("auto"))(
      "batch-size", "images per pass", cxxopts::value<int64_t>()->default_value("100"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "device", "auto | cpu | cuda", cxxopts::value<std::string>()->default_value("auto"))(
      "inputs", "", cxxopts::value<std::vector<std::string>>())("h,help", "show this help");
  options.parse_positional({"inputs"});
  const cxxopts::ParseResult result = parse_or_usage(options, argc, argv);
  if (result.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (result.count("checkpoint") == 0) throw UsageError("vae score needs --checkpoint");
  if (result.count("inputs") == 0) throw UsageError("vae score needs at least one INPUT");
  configure_threads(0);
  TrainedModel trained = load_trained_model(result["checkpoint"].as<std::string>(), json::object(),
                                            result["device"].as<std::string>());
  const int64_t h = trained.config.network.height(), w = trained.config.network.width();
  const std::vector<InputItem> items =
      expand_inputs(result["inputs"].as<std::vector<std::string>>(), h, w);
  const Invert invert = parse_invert(result["invert"].as<std::string>());
  std::vector<torch::Tensor> images;
  for (const InputItem& item : items)
    images.push_back(load_item(item, h, w, invert));
  torch::manual_seed(static_cast<uint64_t>(positive<int64_t>(result, "seed", 0)));
  LikelihoodEvalOptions eval;
  eval.k = positive<int64_t>(result, "k", 1);
  eval.batch_size = positive<int64_t>(result, "batch-size", 1);
  const LikelihoodEvalResult r =
      evaluate_log_likelihood(trained.model, torch::stack(images), trained.device, eval);
  std::ostringstream csv;
  csv << "name,neg_elbo,neg_log_px\n";
  for (size_t i = 0; i < items.size(); ++i) {
    char line[96];
    std::snprintf(line, sizeof(line), ",%.4f,%.4f\n", -r.per_image_elbo[i].item<double>(),
                  -r.per_image_log_px[i].item<double>());
    csv << items[i].name << line;
  }
  const std::string out = result["out"].as<std::string>();
  if (out.empty()) {
    std::cout << csv.str();
  } else {
    write_file_atomically(out, csv.str());
  }
  std::cerr << "scored " << items.size() << " images (k = " << eval.k << ") in " << r.seconds
            << " s\n";
  return 0;
}
}  // namespace

int run_cli(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "train") return train_command(argc - 1, argv + 1);
    for (const char* view :
         {"sample", "reconstruct", "interpolate", "traverse", "manifold", "scatter"}) {
      if (command == view) return view_command(command, argc - 1, argv + 1);
    }
    if (command == "export") return export_command(argc - 1, argv + 1);
    if (command == "encode") return encode_command(argc - 1, argv + 1);
    if (command == "generate") return generate_command(argc - 1, argv + 1);
    if (command == "eval") return eval_command(argc - 1, argv + 1);
    if (command == "bench") return bench_command(argc - 1, argv + 1);
    if (command == "score") return score_command(argc - 1, argv + 1);
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
  } catch (const Interrupted& e) {
    std::cerr << "vae: " << e.what() << '\n';
    return 128 + e.signal();
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
