// Export of a trained VAE as two TorchScript archives that C++
// (torch::jit::load) and Python (torch.jit.load) programs load without this
// project's code: the encoder, for amortized inference (one forward pass
// gives q(z|x) for any image), and the decoder.
//
// LibTorch cannot script C++ modules, so the exporter builds a
// torch::jit::Module, registers the trained parameters on it and defines its
// methods in TorchScript source generated from the layers. Only long-stable
// aten operators appear (linear, conv2d, conv_transpose2d, relu, sigmoid,
// exp, randn, log_ndtr), so newer PyTorch releases load the files.
//
// encoder.pt (x: [N, C, H, W], [N, H, W] or [N, C*H*W]; float in [0, 1] or
// uint8 0..255); the posterior family writes the methods after
// encode_stats (model/posterior.h), and model.json says what each returns:
//   encode_stats(x) -> [N, P]     the encoder network's output
//   forward(x) -> the family's outputs, e.g. (mu, logvar)
//   sample(x, n: int) -> [N, n, D]  n draws per image
//   rsample_with_log_prob(x, eps) -> (z [N, n, D], log q(z|x) [N, n])
//   summary(x, n: int) -> Dict[str, Tensor]   what `vae encode` writes
//   attributes: latent_dim, image_shape [C, H, W], posterior, vae_version,
//   export_version
// decoder.pt
//   forward(z) -> [N, C, H, W]    pixel means (probabilities) in [0, 1]
//   generate(n: int, seed: int) -> [n, C, H, W]   decoded prior samples;
//                                  seeds the global generator
//   attributes: latent_dim, image_shape, likelihood, vae_version, export_version
#pragma once

#include <torch/script.h>
#include <nlohmann/json.hpp>

#include <string>

#include "vae/model/vae_model.h"
#include "vae/run/metrics.h"

namespace vae {

constexpr int64_t kExportVersion = 2;
// The seed of the noise behind reference.pt's draws.
constexpr uint64_t kReferenceSeed = 20261202;

// TorchScript modules on the CPU holding copies of the model's parameters.
torch::jit::Module export_encoder(const VAE& model);
torch::jit::Module export_decoder(const VAE& model);

struct ExportedFiles {
  std::string encoder, decoder, metadata, reference;
};

// Writes out_dir/{encoder.pt, decoder.pt, model.json, reference.pt}, each
// atomically. model.json describes the architecture, the input
// preprocessing and the run's final metrics (`run_config`: to_json of the
// TrainConfig; `history`: the run's metrics). reference.pt holds inputs and
// the outputs the in-process model gave for them (x, x_uint8, mu, logvar, z,
// decoded), for checks by other programs (scripts/check_export.py).
ExportedFiles export_model(const VAE& model, const nlohmann::json& run_config,
                           const std::vector<EpochMetrics>& history,
                           const torch::Tensor& reference_images, const std::string& out_dir);

// Loads an exported encoder or decoder and checks that it is one: throws
// vae::Error with one line for a missing file, a file that is not TorchScript,
// or a module without the methods and attributes written above.
torch::jit::Module load_exported(const std::string& path, const std::string& kind);

}  // namespace vae
