#include "vae/run/run_setup.h"

#include <torch/torch.h>

#include <iostream>
#include <tuple>

#include "vae/runtime/error.h"
#include "vae/runtime/progress.h"

namespace vae {

DataSource data_source(const TrainConfig& config, const std::string& data_dir) {
  DataSource source;
  source.dir = resolve_data_dir(data_dir.empty() ? config.data_dir : data_dir);
  source.test_dir = config.test_dir;
  source.test_fraction = config.test_fraction;
  std::tie(source.pictures.height, source.pictures.width) = parse_image_size(config.image_size);
  source.pictures.crop = config.crop;
  source.pictures.color = config.color;
  source.pictures.skip_bad = config.skip_bad;
  source.cache = config.cache;
  return source;
}

RunData load_run_data(const TrainConfig& config, std::ostream* log) {
  RunData data;
  DataSource source = data_source(config);
  source.pictures.log = log;
  source.pictures.terminal = log == &std::cout && is_terminal(1);
  data.dir = source.dir;
  DataSets sets = load_data_sets(source);
  data.description = sets.description;
  data.train = take_first(sets.train, config.train_size);
  const int64_t n = data.train.size(), v = config.valid_size;
  if (v > 0) {
    if (v >= n) {
      throw Error("--valid-size " + std::to_string(v) + " leaves no training images (" +
                  std::to_string(n) + " loaded)");
    }
    data.valid = {data.train.images.narrow(0, n - v, v), data.train.labels.narrow(0, n - v, v)};
    data.train = take_first(data.train, n - v);
  }
  data.test = take_first(sets.test, config.test_size);
  return data;
}

void fit_network_to_data(TrainConfig& config, const ImageDataset& data) {
  config.network.in_channels(data.channels()).height(data.height()).width(data.width());
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
  Batcher batches(train.images, config.batch_auto ? config.batch_min : config.batch_size,
                  config.binarize, device);
  batches.set_mutation_rate(config.mutation_rate);
  return batches;
}

Batcher evaluation_batches(const TrainConfig& config, const ImageDataset& test,
                           torch::Device device) {
  return Batcher(test.images, kEvalBatchSize, test_binarization(config.binarize), device);
}

}  // namespace vae
