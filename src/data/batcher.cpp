#include "vae/data/batcher.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {

const NameTable<Binarize>& binarize_modes() {
  static const NameTable<Binarize> table("--binarize",
                                         {{Binarize::kNone, "none"},
                                          {Binarize::kDynamic, "dynamic", "new draw per batch"},
                                          {Binarize::kStatic, "static", "one fixed draw"}});
  return table;
}

Binarize parse_binarize(const std::string& name) {
  return binarize_modes().parse(name);
}

std::string to_string(Binarize mode) {
  return binarize_modes().name(mode);
}

torch::Tensor to_model_input(const torch::Tensor& images_u8, torch::Device device) {
  torch::Tensor x = images_u8.to(device).to(torch::kFloat32).div_(255.0);
  return images_u8.dim() == 3 ? x.unsqueeze_(1) : x;
}

Binarize test_binarization(Binarize train_mode) {
  return train_mode == Binarize::kNone ? Binarize::kNone : Binarize::kStatic;
}

torch::Tensor as_scored(const torch::Tensor& images_u8, Binarize train_mode) {
  return test_binarization(train_mode) == Binarize::kStatic
             ? binarize_once(images_u8, kBinarizeSeed)
             : images_u8;
}

torch::Tensor binarize_once(const torch::Tensor& images_u8, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  const torch::Tensor probs = images_u8.to(torch::kCPU, torch::kFloat32).div_(255.0);
  const torch::Tensor draw = at::bernoulli(probs, generator);
  return draw.mul_(255.0).to(torch::kUInt8).to(images_u8.device());
}

Batcher::Batcher(torch::Tensor images, int64_t batch_size, Binarize mode, torch::Device device)
    : batch_size_(batch_size), mode_(mode) {
  if ((images.dim() != 3 && images.dim() != 4) || images.scalar_type() != torch::kUInt8) {
    throw Error("internal: Batcher expects uint8 images [N, H, W] or [N, C, H, W]");
  }
  if (images.dim() == 3) images = images.unsqueeze(1);  // one channel
  if (batch_size <= 0) throw Error("--batch-size must be positive");
  if (mode == Binarize::kStatic) images = binarize_once(images, kBinarizeSeed);
  images_ = images.to(device).contiguous();
}

void Batcher::set_batch_size(int64_t batch_size) {
  if (batch_size <= 0) throw Error("--batch-size must be positive");
  batch_size_ = batch_size;
}

void Batcher::set_mutation_rate(double rate) {
  if (!(rate >= 0.0 && rate <= 1.0)) throw Error("--mutation-rate must be in [0, 1]");
  mutation_rate_ = rate;
}

torch::Tensor Batcher::mutate(const torch::Tensor& x) const {
  if (mutation_rate_ == 0.0) return x;
  // Drawn on the CPU, as dynamic binarization's generator state is, so that
  // a resumed run draws the same; the levels as to_model_input makes them.
  const torch::Tensor hit = torch::rand(x.sizes()) < mutation_rate_;
  const torch::Tensor levels =
      to_model_input(torch::randint(0, 256, x.sizes(), torch::kUInt8), torch::kCPU);
  return torch::where(hit.to(x.device()), levels.to(x.device()), x);
}

void Batcher::shuffle() {
  order_ = torch::randperm(size(), torch::kLong).to(images_.device());
}

void Batcher::set_order(const torch::Tensor& order) {
  if (order.dim() != 1 || order.size(0) != size() || order.scalar_type() != torch::kLong) {
    throw Error("a saved data order of " + std::to_string(order.numel()) +
                " entries does not fit a data set of " + std::to_string(size()) + " images");
  }
  order_ = order.to(images_.device()).contiguous();
}

torch::Tensor Batcher::batch(int64_t i) const {
  return batch(i, 0, batch_rows(i));
}

torch::Tensor Batcher::batch(int64_t i, int64_t begin, int64_t count) const {
  const int64_t rows = batch_rows(i);
  if (begin < 0 || count < 0 || begin + count > rows) {
    throw Error("internal: rows outside batch " + std::to_string(i));
  }
  if (mode_ != Binarize::kDynamic && mutation_rate_ == 0.0)
    return batch_of_rows(i * batch_size_ + begin, count);
  // Random draws are made for the whole batch, whichever rows are kept.
  torch::Tensor x = mutate(batch_of_rows(i * batch_size_, rows));
  if (mode_ == Binarize::kDynamic) x = torch::bernoulli(x);
  return x.narrow(0, begin, count);
}

torch::Tensor Batcher::batch_of_rows(int64_t start, int64_t count) const {
  if (images_.device().is_cpu()) {
    // One pass instead of three (index_select, conversion, division): each
    // pixel looks its value up in to_model_input's own conversion of 0..255,
    // so that the numbers are the same bit for bit.
    static const torch::Tensor table =
        to_model_input(torch::arange(256, torch::kUInt8).view({1, 1, 256}), torch::kCPU);
    const float* lut = table.data_ptr<float>();
    const int64_t pixels = images_.size(1) * images_.size(2) * images_.size(3);
    torch::Tensor out = torch::empty({count, images_.size(1), images_.size(2), images_.size(3)});
    const uint8_t* src = images_.data_ptr<uint8_t>();
    const int64_t* order = order_.defined() ? order_.data_ptr<int64_t>() + start : nullptr;
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, count, std::max<int64_t>(1, 16384 / pixels), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const uint8_t* row = src + (order != nullptr ? order[r] : start + r) * pixels;
        float* to = dst + r * pixels;
        for (int64_t k = 0; k < pixels; ++k)
          to[k] = lut[row[k]];
      }
    });
    return out;
  }
  const torch::Tensor raw = order_.defined()
                                ? images_.index_select(0, order_.narrow(0, start, count))
                                : images_.narrow(0, start, count);
  return to_model_input(raw, raw.device());
}

}  // namespace vae
