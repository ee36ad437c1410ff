// The set-up that `vae train` and `vae bench` share: the data sets a
// configuration names, the model it initialises and the minibatch streams,
// so that the benchmark times the trainer's own configuration.
#pragma once

#include <torch/types.h>

#include <ostream>
#include <string>

#include "vae/data/batcher.h"
#include "vae/data/data_source.h"
#include "vae/data/mnist.h"
#include "vae/model/vae_model.h"
#include "vae/run/config.h"

namespace vae {

// Test-set evaluation runs in batches of this many images.
constexpr int64_t kEvalBatchSize = 1000;

struct RunData {
  std::string dir;          // where the IDX files or pictures were found
  std::string description;  // how they were read (DataSets::description)
  ImageDataset train;       // the first config.train_size images (0: all), less the validation set
  ImageDataset valid;       // the last config.valid_size of those (none: undefined tensors)
  ImageDataset test;        // the first config.test_size images (0: all)
};

// The data settings of `config` (data_dir, if given, in place of its own).
DataSource data_source(const TrainConfig& config, const std::string& data_dir = "");

// Loads the training, validation and test sets of `config` (resolve_data_dir);
// decoding pictures draws a progress bar on `log`.
RunData load_run_data(const TrainConfig& config, std::ostream* log = nullptr);

// Sets the network's image shape from the data and validates it.
void fit_network_to_data(TrainConfig& config, const ImageDataset& data);

// The model, initialised from config.seed (torch::manual_seed), on `device`.
VAE make_model(const TrainConfig& config, torch::Device device);

// Minibatches for training (the run's binarization) and for the test-set
// evaluation (test_binarization, kEvalBatchSize images each).
Batcher training_batches(const TrainConfig& config, const ImageDataset& train,
                         torch::Device device);
Batcher evaluation_batches(const TrainConfig& config, const ImageDataset& test,
                           torch::Device device);

}  // namespace vae
