// Draws that leave no trace: the default generators' states (the CPU's, and
// the device's where it is another) are saved on construction and restored
// on destruction. The trainer scores the validation and test sets inside
// one, so that whether and how often it scores them (--eval-every,
// --valid-size's scoring) does not change the noise that training draws.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace vae {

class RandomStateGuard {
 public:
  explicit RandomStateGuard(torch::Device device = torch::kCPU);
  ~RandomStateGuard();
  RandomStateGuard(const RandomStateGuard&) = delete;
  RandomStateGuard& operator=(const RandomStateGuard&) = delete;

 private:
  torch::Device device_;
  torch::Tensor cpu_state_, device_state_;
};

}  // namespace vae
