// Adam (Kingma & Ba 2015, Algorithm 1) with one pass over memory per
// parameter on the CPU. torch::optim::Adam runs eight tensor operations per
// parameter (two of them allocating); each reads and writes the whole
// parameter-sized arrays again: for the default MLP a large share of the
// step (docs/performance.md). The fused loop reads p, g, m, v once and
// writes p, m, v once.
//
// The class is a torch::optim::Adam: the same options, the same per-parameter
// state (step, exp_avg, exp_avg_sq), so save/load and checkpoints are
// unchanged and a run may resume on either. Parameters that are not dense
// float32 CPU tensors, and amsgrad, take torch::optim::Adam's own step.
#pragma once

#include <torch/optim/adam.h>

#include <vector>

namespace vae {

class FusedAdam : public torch::optim::Adam {
 public:
  FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions options = {});

  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace vae
