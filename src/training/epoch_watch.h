// Book-keeping of one training epoch, for trainer.cpp: the running sums of
// the batch terms and the watch for a loss that becomes NaN or Inf.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "vae/runtime/error.h"

namespace vae {

// Sums of the batch-mean terms (loss, recon, KL) weighted by batch size, kept
// on the device so that a step needs no host synchronisation.
struct EpochSums {
  torch::Tensor sums;  // [3]
  int64_t images = 0;

  void add(const torch::Tensor& batch_means, int64_t batch) {
    const torch::Tensor weighted = batch_means * static_cast<double>(batch);
    sums = sums.defined() ? sums + weighted : weighted;
    images += batch;
  }
  double mean(int64_t term) const {
    return sums[term].item<double>() / static_cast<double>(images);
  }
};

// Records the first step whose loss is NaN or Inf. On the CPU it is checked
// after every step (free); on CUDA the check stays on the device and is read
// at the progress points and the end of the epoch.
class NonFiniteWatch {
 public:
  explicit NonFiniteWatch(torch::Device device) : device_(device) {
    if (device.is_cuda())
      first_bad_ = torch::full({}, -1, torch::TensorOptions(device).dtype(torch::kLong));
  }
  void observe(const torch::Tensor& loss, int64_t step) {
    if (!device_.is_cuda()) {
      if (!std::isfinite(loss.item<double>())) fail(step);
      return;
    }
    const torch::Tensor bad =
        torch::logical_and(first_bad_.lt(0), loss.detach().isfinite().logical_not());
    first_bad_ = torch::where(bad, torch::full_like(first_bad_, step), first_bad_);
  }
  void check() const {
    if (first_bad_.defined()) {
      const int64_t step = first_bad_.item<int64_t>();
      if (step >= 0) fail(step);
    }
  }

 private:
  [[noreturn]] static void fail(int64_t step) {
    throw Error("the loss became NaN or Inf at step " + std::to_string(step + 1) +
                "; training stopped, the last checkpoint is unchanged (try a lower --lr or "
                "--grad-clip)");
  }
  torch::Device device_;
  torch::Tensor first_bad_;
};

}  // namespace vae
