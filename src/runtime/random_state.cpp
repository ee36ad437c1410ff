#include "vae/runtime/random_state.h"

#include <ATen/Context.h>

namespace vae {

RandomStateGuard::RandomStateGuard(torch::Device device) : device_(device) {
  cpu_state_ = at::globalContext().defaultGenerator(torch::kCPU).get_state();
  if (!device_.is_cpu()) device_state_ = at::globalContext().defaultGenerator(device_).get_state();
}

RandomStateGuard::~RandomStateGuard() {
  at::Generator cpu = at::globalContext().defaultGenerator(torch::kCPU);
  cpu.set_state(cpu_state_);
  if (device_state_.defined()) {
    at::Generator other = at::globalContext().defaultGenerator(device_);
    other.set_state(device_state_);
  }
}

}  // namespace vae
