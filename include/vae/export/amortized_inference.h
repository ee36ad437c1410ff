// Amortized inference: one encoder pass gives q(z|x) for every input image,
// in batches, written as CSV or JSON lines: the columns the posterior family
// names (mu and sigma for the diagonal Gaussian).
#pragma once

#include <torch/script.h>

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "vae/data/image_input.h"
#include "vae/views/model_views.h"

namespace vae {

// Named columns of q(z|x), each [B, D] on the CPU; the first is the posterior
// mean.
using PosteriorColumns = std::vector<std::pair<std::string, torch::Tensor>>;
// uint8 images [B, H, W] -> their posterior's columns.
using EncoderFn = std::function<PosteriorColumns(const torch::Tensor&)>;

// The exported TorchScript encoder (encoder.pt), or the in-process model;
// `samples` draws per image where a family estimates its columns.
EncoderFn torchscript_encoder(torch::jit::Module& module, int64_t samples);
EncoderFn native_encoder(TrainedModel& trained, int64_t samples);

enum class OutputFormat { kCsv, kJsonLines };
const NameTable<OutputFormat>& output_formats();
OutputFormat parse_output_format(const std::string& name);

struct EncodeOptions {
  int64_t batch_size = 256;
  int64_t samples = 100;  // draws per image where the family estimates its columns (flows)
  Invert invert = Invert::kAuto;
  OutputFormat format = OutputFormat::kCsv;
  int64_t keep = 0;      // keep the first `keep` images and posterior means
  int64_t channels = 1;  // the encoder's image channels (3: pictures are read as RGB)
};

struct EncodeResult {
  int64_t images = 0;
  double seconds = 0.0;          // everything: reading, encoding, writing
  double encoder_seconds = 0.0;  // the encoder's forward passes alone
  torch::Tensor kept_images;     // uint8 [keep, H, W] (colour: [keep, 3, H, W])
  torch::Tensor kept_mu;         // [keep, D]
};

// Encodes every item and writes one record per image: name, then each column
// (mu_0..mu_{D-1}, sigma_0..sigma_{D-1}) (CSV, with a header), or
// {"name", "mu", "sigma"} (JSON lines); columns may differ in width
// (categorical: p [V K], category [V]).
EncodeResult encode_items(const std::vector<InputItem>& items, const EncoderFn& encoder,
                          int64_t height, int64_t width, const EncodeOptions& options,
                          std::ostream& out);

}  // namespace vae
