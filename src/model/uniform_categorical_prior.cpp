// p(c) = prod_j Uniform(c_j; K): the prior of the categorical posterior
// (Jang et al. 2017), over N one-hot vectors of K categories [N K].
#include <torch/torch.h>

#include <cmath>

#include "vae/model/network_options.h"
#include "vae/model/prior.h"

namespace vae {
namespace {

class UniformCategorical final : public Prior {
 public:
  const char* name() const override { return "uniform-categorical"; }
  std::string help() const override {
    return "each --categorical-vars variable uniform over its --categories";
  }
  bool discrete() const override { return true; }

  // log p(c) = -N log K for every one-hot code.
  torch::Tensor log_prob(const torch::Tensor& z, const PriorContext& context) const override {
    const NetworkOptions& options = context.options;
    std::vector<int64_t> shape = z.sizes().vec();
    shape.pop_back();
    return torch::full(shape,
                       -static_cast<double>(options.categorical_vars()) *
                           std::log(static_cast<double>(options.categories())),
                       z.options());
  }
  // One-hot codes; the temperature does not apply to a discrete prior.
  torch::Tensor sample(int64_t n, const PriorContext& context, double /*temperature*/,
                       at::Generator& generator) const override {
    const NetworkOptions& options = context.options;
    const int64_t v = options.categorical_vars(), k = options.categories();
    const torch::Tensor c = at::randint(k, {n, v}, generator, torch::TensorOptions(torch::kLong));
    return torch::one_hot(c, k).to(torch::kFloat32).reshape({n, v * k});
  }
  std::string script_sample(const NetworkOptions& options) const override {
    const std::string v = std::to_string(options.categorical_vars()),
                      k = std::to_string(options.categories());
    return "        c = torch.randint(" + k + ", [n, " + v +
           "], device=self.layer0_weight.device)\n"
           "        z = torch.one_hot(c, " +
           k + ").float().reshape([n, " + v + " * " + k + "])\n";
  }
};

}  // namespace

const Prior& uniform_categorical_prior() {
  static const UniformCategorical prior;
  return prior;
}

}  // namespace vae
