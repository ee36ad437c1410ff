#include "vae/run/trained_model.h"

#include <torch/torch.h>

#include "vae/data/batcher.h"
#include "vae/run/checkpoint.h"
#include "vae/run/run_setup.h"
#include "vae/runtime/error.h"
#include "vae/runtime/runtime.h"

namespace vae {

namespace {

// The last epoch whose test set was scored (--eval-every); nullptr if none.
const EpochMetrics* last_tested(const std::vector<EpochMetrics>& history) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->tested) return &*it;
  }
  return nullptr;
}

}  // namespace

std::vector<double> TrainedModel::kl_per_dim() const {
  const EpochMetrics* last = last_tested(history);
  if (last == nullptr)
    return std::vector<double>(config.network.latent_layers() > 1
                                   ? config.network.code_dim()
                                   : config.network.posterior()->units(config.network),
                               0.0);
  return last->kl_per_dim;
}

std::vector<double> TrainedModel::mean_variance() const {
  const EpochMetrics* last = last_tested(history);
  if (last == nullptr) return std::vector<double>(config.network.code_dim(), 0.0);
  return last->mean_variance;
}

TrainedModel load_trained_model(const std::string& checkpoint_path, const nlohmann::json& expected,
                                const std::string& device_name) {
  TrainedModel trained;
  trained.device = select_device(device_name);
  const Checkpoint checkpoint(checkpoint_path, trained.device);
  apply_settings(trained.config, checkpoint.state().config, checkpoint_path);
  const nlohmann::json saved = to_json(trained.config);
  for (const auto& [key, value] : expected.items()) {
    if (saved.contains(key) && saved[key] != value) {
      throw Error("checkpoint " + checkpoint_path + " holds a model with " + key + " " +
                  saved[key].dump() + ", not " + value.dump() + " as --" + key + " says");
    }
  }
  trained.model = load_model_from_checkpoint(checkpoint, trained.device);
  trained.model->eval();
  trained.history = checkpoint.state().history;
  return trained;
}

ImageDataset load_test_images(const TrainedModel& trained, const std::string& data_dir) {
  ImageDataset test = load_test_set(data_source(trained.config, data_dir));
  const NetworkOptions& o = trained.config.network;
  if (test.channels() != o.in_channels() || test.height() != o.height() ||
      test.width() != o.width()) {
    throw Error("the model was trained on " + shape_text(o.in_channels(), o.height(), o.width()) +
                " images, the test set holds " +
                shape_text(test.channels(), test.height(), test.width()));
  }
  test.images = as_scored(test.images, trained.config.binarize);
  return test;
}

}  // namespace vae
