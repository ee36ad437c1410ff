// Which code computes a model's ELBO and gradient, chosen here for training,
// evaluation and bench alike. Autograd (the modules' forward passes and
// LibTorch's autograd) is the reference and serves every model; the
// hand-derived MLP gradient (mlp_gradient.h) is an accelerator for the models
// it covers, which it decides by inspecting their modules.
#pragma once

#include <memory>

#include "vae/engine/gemm.h"
#include "vae/engine/mlp_gradient.h"
#include "vae/model/vae_model.h"
#include "vae/objective/objective.h"
#include "vae/runtime/name_table.h"

namespace vae {

// How the training step computes its gradient: fused takes the hand-derived
// MLP gradient (mlp_gradient.h) and FusedAdam where they apply; autograd
// takes LibTorch's autograd and Adam everywhere.
enum class StepEngine { kFused, kAutograd };
const NameTable<StepEngine>& step_engines();

// Training: the hand-derived gradient for --train-step fused with the ELBO
// objective on a model it covers; else nullptr (autograd).
std::unique_ptr<MlpGradient> training_engine(const VAE& model, StepEngine step, Objective objective,
                                             GemmBackend gemm);

// Evaluation (the forward pass alone): the hand-derived pass for any model it
// covers on the CPU; else nullptr (the modules' forward).
std::unique_ptr<MlpGradient> evaluation_engine(const VAE& model, GemmBackend gemm);

}  // namespace vae
