#include "vae/engine/fused_adam.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>

namespace vae {
namespace {

// One Adam update of n elements, written as torch::optim::Adam computes it
// (PyTorch's placement of eps, outside the bias-corrected square root):
//   g  <- g + weight_decay * p
//   m  <- beta1 m + (1 - beta1) g
//   v  <- beta2 v + (1 - beta2) g^2
//   p  <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Plain loops that the compiler vectorizes; the AVX2 clone is picked at load
// time where the CPU has it.
struct AdamCoefficients {
  float beta1, beta2, one_minus_beta1, one_minus_beta2;
  float sqrt_bias2, eps, neg_step_size, weight_decay;
};

__attribute__((target_clones("avx2", "default"))) void adam_update(float* __restrict p,
                                                                   const float* __restrict g,
                                                                   float* __restrict m,
                                                                   float* __restrict v, int64_t n,
                                                                   AdamCoefficients c) {
  for (int64_t i = 0; i < n; ++i) {
    const float grad = g[i] + c.weight_decay * p[i];
    const float mi = c.beta1 * m[i] + c.one_minus_beta1 * grad;
    const float vi = c.beta2 * v[i] + c.one_minus_beta2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    p[i] += c.neg_step_size * mi / (std::sqrt(vi) / c.sqrt_bias2 + c.eps);
  }
}

bool fusable(const torch::Tensor& p, const torch::Tensor& grad) {
  const auto dense_float_cpu = [&](const torch::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous() &&
           !t.is_sparse();
  };
  return dense_float_cpu(p) && dense_float_cpu(grad) && grad.numel() == p.numel();
}

// The optimizer's state is keyed by the parameter's TensorImpl: as a string
// in LibTorch 1.x (the pointer printed, as c10::guts::to_string did; 2.x
// has no such function), as the pointer itself in 2.x.
template <typename Map>
typename Map::key_type state_key(const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream printed;
    printed << p.unsafeGetTensorImpl();
    return printed.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

// Elements per task: below this a second thread costs more than it saves.
constexpr int64_t kGrain = 32768;

}  // namespace

FusedAdam::FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions options)
    : torch::optim::Adam(std::move(params), std::move(options)) {}

torch::Tensor FusedAdam::step(LossClosure closure) {
  // Anything the loop below does not cover goes to LibTorch's Adam whole, so
  // that a mixed model never sees two versions of the update.
  for (const auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad()) return torch::optim::Adam::step(std::move(closure));
    for (const auto& p : group.params()) {
      if (p.grad().defined() && !fusable(p, p.grad())) {
        return torch::optim::Adam::step(std::move(closure));
      }
    }
  }
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  auto& states = state();
  using StateMap = std::remove_reference_t<decltype(states)>;
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = state_key<StateMap>(p);
      auto found = states.find(key);
      if (found == states.end()) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(fresh)).first;
      }
      auto& s = static_cast<torch::optim::AdamParamState&>(*found->second);
      s.step(s.step() + 1);
      const double beta1 = std::get<0>(options.betas());
      const double beta2 = std::get<1>(options.betas());
      const double bias1 = 1.0 - std::pow(beta1, static_cast<double>(s.step()));
      const double bias2 = 1.0 - std::pow(beta2, static_cast<double>(s.step()));
      const AdamCoefficients c{static_cast<float>(beta1),
                               static_cast<float>(beta2),
                               static_cast<float>(1.0 - beta1),
                               static_cast<float>(1.0 - beta2),
                               static_cast<float>(std::sqrt(bias2)),
                               static_cast<float>(options.eps()),
                               static_cast<float>(-options.lr() / bias1),
                               static_cast<float>(options.weight_decay())};
      float* param = p.data_ptr<float>();
      const float* grad = p.grad().data_ptr<float>();
      float* m = s.exp_avg().data_ptr<float>();
      float* v = s.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
        adam_update(param + begin, grad + begin, m + begin, v + begin, end - begin, c);
      });
    }
  }
  return loss;
}

}  // namespace vae
