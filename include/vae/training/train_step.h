// One training step's gradient and the optimizer that applies it, shared by
// `vae train` and `vae bench` so that the benchmark times the trainer's own
// step.
//
// The gradient is that of the minibatch objective (the annealed ELBO with
// free bits, or the IWAE bound) over this rank's rows of a global batch,
// left in every parameter's .grad. With --train-step fused (the default) an
// MLP with the ELBO objective on the CPU takes the hand-derived path
// (mlp_gradient.h) and the optimizer is FusedAdam; anything else, or
// --train-step autograd, records autograd's graph and uses LibTorch's Adam.
// Both paths draw the same noise from the same generators, so a run can
// switch between them on --resume.
#pragma once

#include <torch/optim/adam.h>
#include <torch/types.h>

#include <memory>

#include "vae/engine/mlp_gradient.h"
#include "vae/model/vae_model.h"
#include "vae/run/config.h"
#include "vae/runtime/distributed.h"
#include "vae/training/norm_test.h"

namespace vae {

// The step's batch means (this rank's share of them in data-parallel runs),
// detached: the objective, -E_q[log p(x|z)] and the KL.
struct StepTerms {
  torch::Tensor loss, recon, kl;
};

class TrainStep {
 public:
  // comm: the process group of a data-parallel run, else nullptr.
  TrainStep(VAE model, const TrainConfig& config, Communicator* comm = nullptr);

  // True when the hand-derived gradient serves this model.
  bool hand_derived() const { return mlp_ != nullptr; }
  // "hand-derived MLP gradient + fused Adam; products: oneDNN ..." or
  // "autograd + LibTorch Adam".
  std::string describe() const;
  // The library that computes the step's matrix products: --gemm's for the
  // hand-derived gradient, LibTorch's (autograd) otherwise.
  GemmBackend gemm() const;

  // x: rows `shard` of a global batch of `batch` rows; beta: the KL weight.
  // Draws the reparameterization noise for the whole global batch.
  StepTerms gradient(const torch::Tensor& x, int64_t batch, const Shard& shard, double beta);

  // The gradient of the whole batch x (one process) as the sum of `parts`
  // micro-batches' gradients, each computed as a shard of it, and the norm
  // test (Byrd et al. 2012) from the micro-batches' mean gradients. The
  // trainer's --batch-size auto: per-row gradients exist nowhere cheaply
  // (LibTorch's C++ autograd has no per-sample gradients, and the
  // hand-derived MLP backward would need them per layer for one
  // diagnostic), so their variance is estimated from the parts' spread.
  StepTerms gradient_with_norm_test(const torch::Tensor& x, int64_t parts, double beta,
                                    NormTest& test);

  // The bound the next steps train: config.objective at first; the trainer
  // switches an ELBO run to the IWAE bound at --iwae-from-epoch.
  void set_objective(Objective objective) { objective_ = objective; }

  // The step's update from the gradient: the decoupled weight decay
  // (--weight-decay), then Adam.
  void apply();

  torch::optim::Adam& optimizer() { return *optimizer_; }
  // Adam's learning rate from the next step on (every parameter group).
  void set_lr(double lr);

 private:
  VAE model_;
  TrainConfig config_;
  Communicator* comm_;
  Objective objective_;
  std::unique_ptr<MlpGradient> mlp_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace vae
