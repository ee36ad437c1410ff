#include "vae/engine/engine.h"

namespace vae {

const NameTable<StepEngine>& step_engines() {
  static const NameTable<StepEngine> table(
      "--train-step",
      {{StepEngine::kFused, "fused",
        "hand-derived MLP gradient and fused Adam where they apply, else autograd"},
       {StepEngine::kAutograd, "autograd", "LibTorch's autograd and Adam throughout"}});
  return table;
}

std::unique_ptr<MlpGradient> training_engine(const VAE& model, StepEngine step, Objective objective,
                                             GemmBackend gemm) {
  if (step != StepEngine::kFused || objective != Objective::kElbo) return nullptr;
  return evaluation_engine(model, gemm);
}

std::unique_ptr<MlpGradient> evaluation_engine(const VAE& model, GemmBackend gemm) {
  // covers() requires float32 parameters on the CPU.
  if (!MlpGradient::covers(model)) return nullptr;
  return std::make_unique<MlpGradient>(model, gemm);
}

}  // namespace vae
