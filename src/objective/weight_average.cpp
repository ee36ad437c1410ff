#include "vae/objective/weight_average.h"

#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {
namespace {

// The saved average of parameter `name`, checked against `like`.
torch::Tensor read_average(torch::serialize::InputArchive& archive, const std::string& name,
                           const torch::Tensor& like, const std::string& source) {
  torch::Tensor value;
  if (!archive.try_read(name, value)) {
    throw Error(source + " has no averaged weights for parameter " + name);
  }
  if (value.sizes() != like.sizes()) {
    throw Error(source + ": the averaged parameter " + name + " has shape " +
                c10::str(value.sizes()) + ", the model expects " + c10::str(like.sizes()));
  }
  return value;
}

}  // namespace

WeightAverage::WeightAverage(torch::nn::Module& module, double decay) : decay_(decay) {
  if (!(decay > 0.0 && decay < 1.0)) {
    throw Error("the weight average's decay must lie in (0, 1), not " + std::to_string(decay));
  }
  torch::NoGradGuard no_grad;
  for (const auto& item : module.named_parameters()) {
    names_.push_back(item.key());
    parameters_.push_back(item.value());
    averages_.push_back(item.value().detach().clone());
  }
}

void WeightAverage::update() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < averages_.size(); ++i) {
    // a + (1 - d)(theta - a) = d a + (1 - d) theta, in one pass.
    averages_[i].lerp_(parameters_[i].detach(), 1.0 - decay_);
  }
}

WeightAverage::Applied::Applied(WeightAverage& average) : average_(average) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < average_.parameters_.size(); ++i) {
    trained_.push_back(average_.parameters_[i].detach().clone());
    average_.parameters_[i].detach().copy_(average_.averages_[i]);
  }
}

WeightAverage::Applied::~Applied() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < trained_.size(); ++i) {
    average_.parameters_[i].detach().copy_(trained_[i]);
  }
}

void WeightAverage::save(torch::serialize::OutputArchive& archive) const {
  for (size_t i = 0; i < averages_.size(); ++i) {
    archive.write(names_[i], averages_[i]);
  }
}

void WeightAverage::load(torch::serialize::InputArchive& archive, const std::string& source) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < averages_.size(); ++i) {
    averages_[i].copy_(read_average(archive, names_[i], averages_[i], source));
  }
}

void load_averaged_parameters(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                              const std::string& source) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    // New storage, not a copy into the old: a module loaded from an archive
    // shares its tensors' storage with the archive (LibTorch's reader sets
    // them), and writing there would change what the archive hands out next.
    item.value().set_data(read_average(archive, item.key(), item.value(), source).clone());
  }
}

}  // namespace vae
