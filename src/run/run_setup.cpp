#include "vae/run/run_setup.h"

#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {

RunData load_run_data(const TrainConfig& config) {
  RunData data;
  data.dir = resolve_data_dir(config.data_dir);
  data.train = take_first(load_mnist(data.dir, Split::kTrain), config.train_size);
  const int64_t n = data.train.size(), v = config.valid_size;
  if (v > 0) {
    if (v >= n) {
      throw Error("--valid-size " + std::to_string(v) + " leaves no training images (" +
                  std::to_string(n) + " loaded)");
    }
    data.valid = {data.train.images.narrow(0, n - v, v), data.train.labels.narrow(0, n - v, v)};
    data.train = take_first(data.train, n - v);
  }
  data.test = take_first(load_mnist(data.dir, Split::kTest), config.test_size);
  return data;
}

void fit_network_to_data(TrainConfig& config, const ImageDataset& data) {
  config.network.in_channels(1).height(data.height()).width(data.width());
  config.network.validate();
}

VAE make_model(const TrainConfig& config, torch::Device device) {
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  VAE model(config.network);
  model->to(device);
  return model;
}

Batcher training_batches(const TrainConfig& config, const ImageDataset& train,
                         torch::Device device) {
  // --batch-size auto starts at --batch-min; the trainer grows it.
  return Batcher(train.images, config.batch_auto ? config.batch_min : config.batch_size,
                 config.binarize, device);
}

Batcher evaluation_batches(const TrainConfig& config, const ImageDataset& test,
                           torch::Device device) {
  return Batcher(test.images, kEvalBatchSize, test_binarization(config.binarize), device);
}

}  // namespace vae
