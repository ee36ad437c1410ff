#include "vae/engine/fused_adam.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

namespace vae {
namespace {

// Parameters of several shapes (one larger than a parallel task, so both
// threads work on it) and gradients drawn per step from a fixed seed.
std::vector<torch::Tensor> make_params() {
  torch::manual_seed(3);
  return {torch::randn({300, 250}).requires_grad_(), torch::randn({7}).requires_grad_(),
          torch::randn({3, 4, 5}).requires_grad_()};
}

void set_grads(std::vector<torch::Tensor>& params, int step) {
  torch::manual_seed(100 + step);
  for (auto& p : params) {
    // Gradients of very different scales, as Adam's normalisation meets them.
    p.mutable_grad() = torch::randn_like(p) * std::pow(10.0, step % 5 - 2);
  }
}

double max_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double diff = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    diff = std::max(diff, (a[i] - b[i]).abs().max().item<double>());
  return diff;
}

void expect_same_trajectory(const torch::optim::AdamOptions& options) {
  auto reference = make_params();
  auto fused = make_params();
  torch::optim::Adam adam(reference, options);
  FusedAdam fused_adam(fused, options);
  for (int step = 0; step < 25; ++step) {
    set_grads(reference, step);
    set_grads(fused, step);
    adam.step();
    fused_adam.step();
  }
  // Float rounding of the same formula in another order: ~1e-7 relative.
  EXPECT_LT(max_diff(reference, fused), 1e-5);
  // And the parameters really moved (25 steps of size ~lr).
  EXPECT_GT(max_diff(make_params(), fused), 10 * options.lr() * 0.5);
}

TEST(FusedAdam, FollowsLibTorchAdamStepForStep) {
  expect_same_trajectory(torch::optim::AdamOptions(1e-3));
}

TEST(FusedAdam, FollowsLibTorchAdamWithWeightDecayAndOtherBetas) {
  expect_same_trajectory(
      torch::optim::AdamOptions(3e-3).betas({0.8, 0.99}).eps(1e-6).weight_decay(0.01));
}

TEST(FusedAdam, SavedStateContinuesInLibTorchAdamAndBack) {
  // 10 steps fused, save, load into LibTorch's Adam, 10 more; against 20
  // LibTorch steps. The serialized state is the same format.
  auto reference = make_params();
  torch::optim::Adam adam(reference, torch::optim::AdamOptions(2e-3));
  for (int step = 0; step < 20; ++step) {
    set_grads(reference, step);
    adam.step();
  }

  auto first = make_params();
  FusedAdam fused(first, torch::optim::AdamOptions(2e-3));
  for (int step = 0; step < 10; ++step) {
    set_grads(first, step);
    fused.step();
  }
  std::stringstream bytes;
  {
    torch::serialize::OutputArchive archive;
    fused.save(archive);
    archive.save_to(bytes);
  }
  auto second = first;  // the same parameter tensors
  torch::optim::Adam resumed(second, torch::optim::AdamOptions(2e-3));
  {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes);
    resumed.load(archive);
  }
  for (int step = 10; step < 20; ++step) {
    set_grads(second, step);
    resumed.step();
  }
  EXPECT_LT(max_diff(reference, second), 1e-5);
}

TEST(FusedAdam, SkipsParametersWithoutGradient) {
  auto params = make_params();
  const torch::Tensor before = params[1].detach().clone();
  FusedAdam adam(params, torch::optim::AdamOptions(1e-2));
  set_grads(params, 0);
  params[1].mutable_grad() = torch::Tensor();
  adam.step();
  EXPECT_TRUE(torch::equal(params[1], before));
  EXPECT_FALSE(torch::equal(params[0], make_params()[0]));
}

TEST(FusedAdam, AmsgradAndDoubleParametersTakeLibTorchsStep) {
  for (bool amsgrad : {true, false}) {
    torch::manual_seed(5);
    std::vector<torch::Tensor> a = {
        torch::randn({40, 3}, amsgrad ? torch::kFloat32 : torch::kFloat64).requires_grad_()};
    std::vector<torch::Tensor> b = {a[0].detach().clone().requires_grad_()};
    const auto options = torch::optim::AdamOptions(1e-2).amsgrad(amsgrad);
    torch::optim::Adam adam(a, options);
    FusedAdam fused(b, options);
    for (int step = 0; step < 5; ++step) {
      set_grads(a, step);
      set_grads(b, step);
      adam.step();
      fused.step();
    }
    // The very same operations: bit for bit.
    EXPECT_TRUE(torch::equal(a[0], b[0])) << "amsgrad " << amsgrad;
  }
}

}  // namespace
}  // namespace vae
