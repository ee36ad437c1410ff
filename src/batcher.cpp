#include "vae/batcher.h"

#include <torch/torch.h>

#include "vae/error.h"

namespace vae {

Binarize parse_binarize(const std::string& name) {
  if (name == "none") return Binarize::kNone;
  if (name == "dynamic") return Binarize::kDynamic;
  if (name == "static") return Binarize::kStatic;
  throw Error("--binarize must be none, dynamic or static, not '" + name + "'");
}

std::string to_string(Binarize mode) {
  switch (mode) {
    case Binarize::kNone:
      return "none";
    case Binarize::kDynamic:
      return "dynamic";
    case Binarize::kStatic:
      return "static";
  }
  return "none";
}

torch::Tensor to_model_input(const torch::Tensor& images_u8, torch::Device device) {
  return images_u8.to(device).to(torch::kFloat32).div_(255.0).unsqueeze_(1);
}

torch::Tensor binarize_once(const torch::Tensor& images_u8, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  const torch::Tensor probs = images_u8.to(torch::kCPU, torch::kFloat32).div_(255.0);
  const torch::Tensor draw = at::bernoulli(probs, generator);
  return draw.mul_(255.0).to(torch::kUInt8).to(images_u8.device());
}

Batcher::Batcher(torch::Tensor images, int64_t batch_size, Binarize mode, torch::Device device)
    : batch_size_(batch_size), mode_(mode) {
  if (images.dim() != 3 || images.scalar_type() != torch::kUInt8) {
    throw Error("internal: Batcher expects uint8 images [N, H, W]");
  }
  if (batch_size <= 0) throw Error("--batch-size must be positive");
  if (mode == Binarize::kStatic) images = binarize_once(images, kBinarizeSeed);
  images_ = images.to(device).contiguous();
}

void Batcher::shuffle() {
  order_ = torch::randperm(size(), torch::kLong).to(images_.device());
}

void Batcher::set_order(const torch::Tensor& order) {
  if (order.dim() != 1 || order.size(0) != size() || order.scalar_type() != torch::kLong) {
    throw Error("a saved data order of " + std::to_string(order.numel()) +
                " entries does not fit a data set of " + std::to_string(size()) + " images");
  }
  order_ = order.to(images_.device());
}

torch::Tensor Batcher::batch(int64_t i) const {
  return batch(i, 0, batch_rows(i));
}

torch::Tensor Batcher::batch(int64_t i, int64_t begin, int64_t count) const {
  const int64_t rows = batch_rows(i);
  if (begin < 0 || count < 0 || begin + count > rows) {
    throw Error("internal: rows outside batch " + std::to_string(i));
  }
  if (mode_ == Binarize::kDynamic) {
    return torch::bernoulli(batch_of_rows(i * batch_size_, rows)).narrow(0, begin, count);
  }
  return batch_of_rows(i * batch_size_ + begin, count);
}

torch::Tensor Batcher::batch_of_rows(int64_t start, int64_t count) const {
  const torch::Tensor raw = order_.defined()
                                ? images_.index_select(0, order_.narrow(0, start, count))
                                : images_.narrow(0, start, count);
  return to_model_input(raw, raw.device());
}

}  // namespace vae
