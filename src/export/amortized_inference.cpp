#include "vae/export/amortized_inference.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

#include "vae/data/batcher.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using Clock = std::chrono::steady_clock;

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7g", static_cast<double>(v));
  return buf;
}

// RFC 4180: quote a field holding a comma, quote or line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

EncoderFn torchscript_encoder(torch::jit::Module& module, int64_t samples) {
  if (!module.find_method("summary")) {
    // Version 1 exports (diagonal Gaussian only): forward gives (mu, logvar).
    return [&module](const torch::Tensor& images) {
      torch::NoGradGuard no_grad;
      // The tuple is held while its elements are read.
      const c10::intrusive_ptr<c10::ivalue::Tuple> tuple =
          module.forward({images.dim() == 3 ? images.unsqueeze(1) : images}).toTuple();
      return PosteriorColumns{
          {"mu", tuple->elements().at(0).toTensor().to(torch::kFloat32).contiguous()},
          {"sigma",
           torch::exp(0.5 * tuple->elements().at(1).toTensor().to(torch::kFloat32)).contiguous()}};
    };
  }
  return [&module, samples](const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    const c10::Dict<c10::IValue, c10::IValue> summary =
        module.get_method("summary")({images.dim() == 3 ? images.unsqueeze(1) : images, samples})
            .toGenericDict();
    PosteriorColumns columns;
    for (const auto& entry : summary) {
      columns.push_back({entry.key().toStringRef(),
                         entry.value().toTensor().to(torch::kCPU, torch::kFloat32).contiguous()});
    }
    return columns;
  };
}

EncoderFn native_encoder(TrainedModel& trained, int64_t samples) {
  return [&trained, samples](const torch::Tensor& images) {
    c10::InferenceMode inference;
    const torch::Tensor x = to_model_input(images, trained.device);
    return trained.model->posterior_family().columns(*trained.model->encode(x),
                                                     trained.config.network, samples);
  };
}

const NameTable<OutputFormat>& output_formats() {
  static const NameTable<OutputFormat> table(
      "--format", {{OutputFormat::kCsv, "csv"}, {OutputFormat::kJsonLines, "jsonl"}});
  return table;
}

OutputFormat parse_output_format(const std::string& name) {
  return output_formats().parse(name);
}

EncodeResult encode_items(const std::vector<InputItem>& items, const EncoderFn& encoder,
                          int64_t height, int64_t width, const EncodeOptions& options,
                          std::ostream& out) {
  if (options.batch_size < 1) throw Error("--batch-size must be at least 1");
  EncodeResult result;
  const auto start = Clock::now();
  std::vector<torch::Tensor> kept_images, kept_mu;
  bool header = options.format == OutputFormat::kCsv;
  for (size_t first = 0; first < items.size(); first += static_cast<size_t>(options.batch_size)) {
    const size_t count = std::min(items.size() - first, static_cast<size_t>(options.batch_size));
    std::vector<torch::Tensor> batch;
    for (size_t i = first; i < first + count; ++i) {
      batch.push_back(load_item(items[i], height, width, options.invert, options.channels));
    }
    const torch::Tensor images = torch::stack(batch);
    const auto encode_start = Clock::now();
    const PosteriorColumns columns = encoder(images);
    result.encoder_seconds += std::chrono::duration<double>(Clock::now() - encode_start).count();
    if (header) {
      out << "name";
      for (const auto& [column, values] : columns) {
        for (int64_t d = 0; d < values.size(1); ++d)
          out << ',' << column << '_' << d;
      }
      out << '\n';
      header = false;
    }
    for (size_t k = 0; k < count; ++k) {
      const std::string& name = items[first + k].name;
      if (options.format == OutputFormat::kCsv) {
        out << csv_field(name);
        for (const auto& [column, values] : columns) {
          const int64_t dims = values.size(1);
          const float* v = values.data_ptr<float>() + k * dims;
          for (int64_t d = 0; d < dims; ++d)
            out << ',' << number(v[d]);
        }
        out << '\n';
      } else {
        nlohmann::json record = {{"name", name}};
        for (const auto& [column, values] : columns) {
          const int64_t dims = values.size(1);
          const float* v = values.data_ptr<float>() + k * dims;
          record[column] = std::vector<float>(v, v + dims);
        }
        out << record.dump() << '\n';
      }
    }
    const int64_t keep =
        std::min<int64_t>(options.keep - result.images, static_cast<int64_t>(count));
    if (keep > 0) {
      kept_images.push_back(images.narrow(0, 0, keep));
      kept_mu.push_back(columns.at(0).second.narrow(0, 0, keep));
    }
    result.images += static_cast<int64_t>(count);
  }
  if (!out) throw Error("cannot write the encodings (disk full?)");
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!kept_images.empty()) {
    result.kept_images = torch::cat(kept_images);
    result.kept_mu = torch::cat(kept_mu);
  }
  return result;
}

}  // namespace vae
