// p(z) = N(0, I), the prior of Kingma & Welling 2013.
#include <torch/torch.h>

#include "vae/model/gaussian.h"
#include "vae/model/network_options.h"
#include "vae/model/prior.h"

namespace vae {
namespace {

class StandardNormal final : public Prior {
 public:
  const char* name() const override { return "standard-normal"; }
  std::string help() const override { return "N(0, I)"; }
  bool standard_normal() const override { return true; }

  torch::Tensor log_prob(const torch::Tensor& z, const PriorContext& /*context*/) const override {
    const torch::Tensor zeros = torch::zeros_like(z);
    return log_normal_diag(z, zeros, zeros);
  }
  torch::Tensor sample(int64_t n, const PriorContext& context, double temperature,
                       at::Generator& generator) const override {
    return at::randn({n, context.options.latent_dim()}, generator,
                     torch::TensorOptions().dtype(torch::kFloat32)) *
           temperature;
  }
  std::string script_sample(const NetworkOptions& /*options*/) const override {
    return "        z = torch.randn([n, self.latent_dim], device=self.layer0_weight.device)\n";
  }
};

}  // namespace

const Prior& standard_normal_prior() {
  static const StandardNormal prior;
  return prior;
}

}  // namespace vae
