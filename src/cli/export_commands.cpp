// The exported model: vae export writes it, vae encode and vae generate use
// it (or, for encode, a checkpoint's model in-process).
#include <torch/script.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "command_line.h"
#include "commands.h"
#include "vae/data/batcher.h"
#include "vae/export/amortized_inference.h"
#include "vae/export/torchscript_export.h"
#include "vae/model/likelihood.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/runtime.h"
#include "vae/views/model_views.h"

namespace vae::cli {
namespace {

// Reference inputs for an export: the first 17 test images (a batch size
// that is not a power of two), or seeded noise images when the data is not
// at hand.
torch::Tensor reference_images(const TrainedModel& trained, const std::string& data_dir) {
  const NetworkOptions& o = trained.config.network;
  try {
    const torch::Tensor test = load_test_images(trained, data_dir).images;
    return test.narrow(0, 0, std::min<int64_t>(17, test.size(0)));
  } catch (const Error& e) {
    std::cerr << "note: " << e.what() << "; reference.pt uses random images\n";
    torch::manual_seed(0);
    std::vector<int64_t> shape = {17, o.height(), o.width()};
    if (o.in_channels() > 1) shape.insert(shape.begin() + 1, o.in_channels());
    return torch::randint(0, 256, shape).to(torch::kUInt8);
  }
}

void add_encode_options(cxxopts::Options& options) {
  options.positional_help("INPUT...");
  options.add_options()("encoder", "exported encoder (encoder.pt)", cxxopts::value<std::string>())(
      "checkpoint", "or: a training checkpoint (in-process encoder)",
      cxxopts::value<std::string>())("format", output_formats().choices(),
                                     cxxopts::value<std::string>()->default_value("csv"))(
      "out", "output file (default: standard output)",
      cxxopts::value<std::string>()->default_value(""))(
      "batch-size", "images per encoder pass", cxxopts::value<int64_t>()->default_value("256"))(
      "invert", invert_modes().choices(), cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "samples", "flow posteriors: draws per image behind the mean and std columns (at least 2)",
      cxxopts::value<int64_t>()->default_value("100"))(
      "seed", "random seed of those draws", cxxopts::value<int64_t>()->default_value("1"))(
      "decoder", "exported decoder, to also write --reconstructions",
      cxxopts::value<std::string>())(
      "reconstructions", "PNG of the first 32 inputs above their decoded posterior means",
      cxxopts::value<std::string>())("inputs", "", cxxopts::value<std::vector<std::string>>())(
      "h,help", "show this help");
  options.parse_positional({"inputs"});
}

// The encoder vae encode runs: the exported one, or a checkpoint's model.
struct EncoderSource {
  torch::jit::Module script;
  TrainedModel trained;
  EncoderFn encoder;
  int64_t latent_dim = 0, channels = 1, height = 0, width = 0;
};

void open_encoder(const cxxopts::ParseResult& result, int64_t samples, EncoderSource& source) {
  if (result.count("encoder")) {
    source.script = load_exported(result["encoder"].as<std::string>(), "encoder");
    source.encoder = torchscript_encoder(source.script, samples);
    source.latent_dim = source.script.attr("latent_dim").toInt();
    const std::vector<int64_t> shape = source.script.attr("image_shape").toIntVector();
    source.channels = shape.at(0);
    source.height = shape.at(1);
    source.width = shape.at(2);
    return;
  }
  source.trained =
      load_trained_model(result["checkpoint"].as<std::string>(), json::object(), "auto");
  source.encoder = native_encoder(source.trained, samples);
  source.latent_dim = source.trained.config.network.latent_dim();
  source.channels = source.trained.config.network.in_channels();
  source.height = source.trained.config.network.height();
  source.width = source.trained.config.network.width();
}

torch::jit::Module open_decoder(const cxxopts::ParseResult& result, int64_t latent_dim) {
  torch::jit::Module decoder = load_exported(result["decoder"].as<std::string>(), "decoder");
  if (decoder.attr("latent_dim").toInt() != latent_dim) {
    throw Error("the encoder has " + std::to_string(latent_dim) + " latent dimensions but " +
                result["decoder"].as<std::string>() + " decodes " +
                std::to_string(decoder.attr("latent_dim").toInt()) +
                ": they are not one model's pair");
  }
  return decoder;
}

// Pictures of an exported decoder's count family (its likelihood attribute)
// are stretched, as the checkpoint's are.
GridOptions decoder_grid(const torch::jit::Module& decoder, GridOptions grid) {
  grid.stretch = decoder.hasattr("likelihood") &&
                 parse_likelihood(decoder.attr("likelihood").toStringRef())->counts();
  return grid;
}

void report_encoding(const EncodeResult& encoded) {
  char line[200];
  std::snprintf(line, sizeof(line),
                "encoded %lld images in %.2f s: %.0f images/s overall, %.0f images/s in the "
                "encoder\n",
                static_cast<long long>(encoded.images), encoded.seconds,
                encoded.images / std::max(encoded.seconds, 1e-9),
                encoded.images / std::max(encoded.encoder_seconds, 1e-9));
  std::cerr << line;
}

}  // namespace

int export_command(int argc, char** argv) {
  cxxopts::Options options("vae export",
                           "Write a trained model as TorchScript: encoder.pt (amortized "
                           "inference), decoder.pt, model.json and reference.pt.");
  options.add_options()("checkpoint", "checkpoint of a trained run", cxxopts::value<std::string>())(
      "out-dir", "directory to write (default models/<run name>)",
      cxxopts::value<std::string>()->default_value(""))(
      "data-dir", "test images for reference.pt (default: the run's)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
  const auto result = parse_command(options, argc, argv);
  if (!result) return 0;
  require_flag(*result, "checkpoint", "vae export needs --checkpoint runs/NAME/checkpoint.pt");
  const std::string checkpoint = (*result)["checkpoint"].as<std::string>();
  std::string out_dir = (*result)["out-dir"].as<std::string>();
  if (out_dir.empty()) {
    out_dir = "models/" + std::filesystem::path(checkpoint).parent_path().filename().string();
  }
  TrainedModel trained = load_trained_model(checkpoint, json::object(), "cpu");
  const torch::Tensor reference =
      reference_images(trained, (*result)["data-dir"].as<std::string>());
  const ExportedFiles files =
      export_model(trained.model, to_json(trained.config), trained.history, reference, out_dir);
  std::cout << "wrote " << files.encoder << ", " << files.decoder << ", " << files.metadata << ", "
            << files.reference << "\n";
  return 0;
}

int encode_command(int argc, char** argv) {
  cxxopts::Options options("vae encode",
                           "Posterior q(z|x) of each input image in one encoder pass: mu and "
                           "sigma (diagonal Gaussian), mean and std of --samples draws (planar, "
                           "iaf), p and category (categorical). INPUT: picture files, "
                           "directories of them, or IDX files.");
  add_encode_options(options);
  const auto parsed = parse_command(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& result = *parsed;
  if (result.count("encoder") + result.count("checkpoint") != 1) {
    throw UsageError("vae encode needs one of --encoder models/NAME/encoder.pt or --checkpoint");
  }
  require_flag(result, "inputs", "vae encode needs at least one INPUT");
  if (result.count("reconstructions") != result.count("decoder")) {
    throw UsageError("--reconstructions and --decoder go together");
  }
  EncodeOptions encode;
  encode.batch_size = positive<int64_t>(result, "batch-size", 1);
  encode.invert = parse_invert(result["invert"].as<std::string>());
  encode.format = parse_output_format(result["format"].as<std::string>());
  encode.samples = positive<int64_t>(result, "samples", 2);
  configure_threads(positive<int64_t>(result, "threads", 0));
  const int64_t seed = positive<int64_t>(result, "seed", 0);

  EncoderSource source;
  open_encoder(result, encode.samples, source);
  encode.channels = source.channels;
  // After loading (building the in-process model draws its initial
  // weights), so that both encoders draw the same noise.
  torch::manual_seed(static_cast<uint64_t>(seed));
  torch::jit::Module decoder;
  if (result.count("decoder")) {
    decoder = open_decoder(result, source.latent_dim);
    encode.keep = 32;
  }
  const std::vector<InputItem> items =
      expand_inputs(result["inputs"].as<std::vector<std::string>>(), source.height, source.width);
  const std::string out_path = result["out"].as<std::string>();
  EncodeResult encoded;
  if (out_path.empty()) {
    encoded = encode_items(items, source.encoder, source.height, source.width, encode, std::cout);
  } else {
    std::ostringstream buffer;
    encoded = encode_items(items, source.encoder, source.height, source.width, encode, buffer);
    write_file_atomically(out_path, buffer.str());
  }
  report_encoding(encoded);
  if (result.count("decoder")) {
    torch::NoGradGuard no_grad;
    const torch::Tensor decoded = decoder.forward({encoded.kept_mu}).toTensor();
    GridOptions grid;
    grid.columns = 8;
    grid = decoder_grid(decoder, grid);
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
  const auto result = parse_command(options, argc, argv);
  if (!result) return 0;
  require_flag(*result, "decoder", "vae generate needs --decoder decoder.pt");
  torch::jit::Module decoder = load_exported((*result)["decoder"].as<std::string>(), "decoder");
  const GridOptions grid = decoder_grid(decoder, grid_options(*result));
  torch::NoGradGuard no_grad;
  const torch::Tensor images = decoder
                                   .get_method("generate")({positive<int64_t>(*result, "n", 1),
                                                            positive<int64_t>(*result, "seed", 0)})
                                   .toTensor();
  const std::string out = (*result)["out"].as<std::string>();
  write_png(out, make_grid(images, grid));
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace vae::cli
