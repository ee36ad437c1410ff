// Minibatches from an in-memory image set. The uint8 images live on the
// training device; each epoch draws one permutation, and a batch is an index
// select plus a conversion to float in [0, 1] on that device. No per-image
// work on the host.
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

// none: grey levels as Bernoulli means; dynamic: a fresh Bernoulli draw per
// batch (Salakhutdinov & Murray 2008); static: one draw with a fixed seed.
enum class Binarize { kNone, kDynamic, kStatic };

const NameTable<Binarize>& binarize_modes();
Binarize parse_binarize(const std::string& name);
std::string to_string(Binarize mode);

// uint8 images [N, H, W] or [N, C, H, W] (0..255) -> float [N, C, H, W]
// in [0, 1] on `device` (C = 1 for the first): the model's input
// convention everywhere in the project.
torch::Tensor to_model_input(const torch::Tensor& images_u8, torch::Device device);

// Seed of the one draw made by static binarization, and of the fixed test-set
// draw used to evaluate dynamically binarized runs, so that every run is
// scored on the same binary test set.
constexpr uint64_t kBinarizeSeed = 20080101;

// The test set's binarization for a run trained with `train_mode`: binarized
// runs are scored on one fixed binary draw (kStatic, kBinarizeSeed), the
// same for every run and epoch; grey-level runs on the grey levels.
Binarize test_binarization(Binarize train_mode);
// uint8 images as a run of `train_mode` is scored on them: its one fixed
// binary draw (kBinarizeSeed) for a binarized run, else as they are.
torch::Tensor as_scored(const torch::Tensor& images_u8, Binarize train_mode);

// Draws x_b ~ Bernoulli(x) for uint8 images (0..255) with a private generator
// seeded by `seed`; returns uint8 images holding 0 or 255.
torch::Tensor binarize_once(const torch::Tensor& images_u8, uint64_t seed);

class Batcher {
 public:
  // `images`: uint8 [N, H, W] or [N, C, H, W]. `mode` kStatic binarizes
  // once here.
  Batcher(torch::Tensor images, int64_t batch_size, Binarize mode, torch::Device device);

  // Draws this epoch's order from the default CPU generator (part of the
  // checkpointed RNG state). Without a call, batches come in file order.
  void shuffle();

  // The current order (undefined: file order), and a saved one put back (a
  // run resumed inside an epoch).
  const torch::Tensor& order() const { return order_; }
  void set_order(const torch::Tensor& order);

  int64_t num_batches() const { return (size() + batch_size_ - 1) / batch_size_; }
  int64_t size() const { return images_.size(0); }
  int64_t batch_size() const { return batch_size_; }
  // From the next batch(i) on (--batch-size auto grows it between epochs).
  void set_batch_size(int64_t batch_size);
  // Each pixel of a training batch is replaced, with this probability, by a
  // uniform draw from the 256 grey levels (before dynamic binarization),
  // from the default CPU generator: the perturbed inputs on which Ren et al.
  // (2019) train a background model. 0 (the default) draws nothing.
  void set_mutation_rate(double rate);
  torch::Device device() const { return images_.device(); }

  // Batch `i` of the current order as float [B, C, H, W] in [0, 1] on the
  // device; dynamic binarization samples here. The last batch may be short.
  torch::Tensor batch(int64_t i) const;

  // Rows [begin, begin + count) of batch i: a data-parallel rank's shard.
  // Dynamic binarization draws for the whole batch and keeps the shard's
  // rows, so that every rank's generator stays in step and the shards
  // together equal batch(i).
  torch::Tensor batch(int64_t i, int64_t begin, int64_t count) const;

  // The number of images in batch i.
  int64_t batch_rows(int64_t i) const { return std::min(batch_size_, size() - i * batch_size_); }

 private:
  // Rows start .. start + count - 1 of the current order, as model input.
  torch::Tensor batch_of_rows(int64_t start, int64_t count) const;
  // x with each pixel replaced by a random grey level at the mutation rate.
  torch::Tensor mutate(const torch::Tensor& x) const;

  torch::Tensor images_;  // uint8 [N, C, H, W] on device
  torch::Tensor order_;   // int64 [N] on device, or undefined for file order
  int64_t batch_size_;
  Binarize mode_;
  double mutation_rate_ = 0.0;
};

}  // namespace vae
