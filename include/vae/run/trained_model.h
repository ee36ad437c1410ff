// A trained run loaded back from its checkpoint, for pictures, evaluation
// and export.
#pragma once

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "vae/data/mnist.h"
#include "vae/model/vae_model.h"
#include "vae/run/config.h"
#include "vae/run/metrics.h"

namespace vae {

struct TrainedModel {
  VAE model{nullptr};
  TrainConfig config;
  std::vector<EpochMetrics> history;
  torch::Device device = torch::kCPU;

  // Test-set KL per dimension after the last epoch whose test set was
  // scored (--eval-every; zeros if none).
  std::vector<double> kl_per_dim() const;
  std::vector<double> mean_variance() const;
};

// Loads a checkpoint for inspection on `device` ("auto", "cpu", "cuda").
// `expected` holds model settings given as flags (arch, hidden, channels,
// latent-dim, likelihood); any that differ from the checkpoint's throw
// vae::Error naming both values.
TrainedModel load_trained_model(const std::string& checkpoint, const nlohmann::json& expected,
                                const std::string& device);

// The test set the model was evaluated on (binarized as in training), from
// `data_dir` or else the directory saved in the run's config.
ImageDataset load_test_images(const TrainedModel& trained, const std::string& data_dir);

}  // namespace vae
