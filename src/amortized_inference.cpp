#include "vae/amortized_inference.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

#include "vae/batcher.h"
#include "vae/error.h"

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

EncoderFn torchscript_encoder(torch::jit::Module& module) {
  return [&module](const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    const auto out = module.forward({images.unsqueeze(1)}).toTuple();
    return std::make_pair(out->elements()[0].toTensor(), out->elements()[1].toTensor());
  };
}

EncoderFn native_encoder(TrainedModel& trained) {
  return [&trained](const torch::Tensor& images) {
    c10::InferenceMode inference;
    const torch::Tensor x = to_model_input(images, trained.device);
    const Posterior q = trained.model->encode(x);
    return std::make_pair(q.mu.to(torch::kCPU), q.logvar.to(torch::kCPU));
  };
}

OutputFormat parse_output_format(const std::string& name) {
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "jsonl") return OutputFormat::kJsonLines;
  throw Error("--format must be csv or jsonl, not '" + name + "'");
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
      batch.push_back(load_item(items[i], height, width, options.invert));
    }
    const torch::Tensor images = torch::stack(batch);
    const auto encode_start = Clock::now();
    auto [mu, logvar] = encoder(images);
    result.encoder_seconds += std::chrono::duration<double>(Clock::now() - encode_start).count();
    const torch::Tensor m = mu.to(torch::kCPU, torch::kFloat32).contiguous();
    const torch::Tensor s = torch::exp(0.5 * logvar.to(torch::kCPU, torch::kFloat32)).contiguous();
    const int64_t dims = m.size(1);
    if (header) {
      out << "name";
      for (int64_t d = 0; d < dims; ++d)
        out << ",mu_" << d;
      for (int64_t d = 0; d < dims; ++d)
        out << ",sigma_" << d;
      out << '\n';
      header = false;
    }
    const float* mp = m.data_ptr<float>();
    const float* sp = s.data_ptr<float>();
    for (size_t k = 0; k < count; ++k) {
      const std::string& name = items[first + k].name;
      if (options.format == OutputFormat::kCsv) {
        out << csv_field(name);
        for (int64_t d = 0; d < dims; ++d)
          out << ',' << number(mp[k * dims + d]);
        for (int64_t d = 0; d < dims; ++d)
          out << ',' << number(sp[k * dims + d]);
        out << '\n';
      } else {
        nlohmann::json record = {{"name", name},
                                 {"mu", std::vector<float>(mp + k * dims, mp + (k + 1) * dims)},
                                 {"sigma", std::vector<float>(sp + k * dims, sp + (k + 1) * dims)}};
        out << record.dump() << '\n';
      }
    }
    const int64_t keep =
        std::min<int64_t>(options.keep - result.images, static_cast<int64_t>(count));
    if (keep > 0) {
      kept_images.push_back(images.narrow(0, 0, keep));
      kept_mu.push_back(m.narrow(0, 0, keep));
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
