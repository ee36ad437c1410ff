// p(z) = sum_k pi_k N(z; mu_k, diag sigma_k^2): a learned mixture of K
// diagonal Gaussians (the TensorFlow Probability VAE example's prior), its
// means, log variances and mixture logits trained with the model.
#include <torch/torch.h>

#include "vae/model/gaussian.h"
#include "vae/model/network_options.h"
#include "vae/model/prior.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

class MixtureOfGaussians final : public Prior {
 public:
  const char* name() const override { return "mog"; }
  std::string help() const override {
    return "a learned mixture of --prior-components diagonal Gaussians";
  }
  // means [K, D] ~ N(0, I) (distinct components from the start), log
  // variances 0, equal weights.
  std::shared_ptr<torch::nn::Module> make_parameters(const NetworkOptions& o) const override {
    auto module = std::make_shared<torch::nn::Module>("MixturePrior");
    const int64_t k = o.prior_components(), d = o.latent_dim();
    module->register_parameter("means", torch::randn({k, d}));
    module->register_parameter("logvars", torch::zeros({k, d}));
    module->register_parameter("logits", torch::zeros({k}));
    return module;
  }
  void validate(const NetworkOptions& o) const override {
    if (o.prior_components() < 1) {
      throw Error("--prior-components must be at least 1, not " +
                  std::to_string(o.prior_components()));
    }
  }

  torch::Tensor log_prob(const torch::Tensor& z, const PriorContext& context) const override {
    auto p = parts(context);
    return log_normal_mixture(z, p.means, p.logvars, torch::log_softmax(p.logits, 0));
  }
  torch::Tensor sample(int64_t n, const PriorContext& context, double temperature,
                       at::Generator& generator) const override {
    torch::NoGradGuard no_grad;
    auto p = parts(context);
    const auto cpu = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32); };
    const torch::Tensor component =
        at::multinomial(torch::softmax(cpu(p.logits), 0), n, /*replacement=*/true, generator);
    const torch::Tensor eps = at::randn({n, context.options.latent_dim()}, generator,
                                        torch::TensorOptions().dtype(torch::kFloat32));
    return cpu(p.means).index_select(0, component) +
           torch::exp(0.5 * cpu(p.logvars).index_select(0, component)) * eps * temperature;
  }
  std::string script_sample(const NetworkOptions& /*options*/) const override {
    return gaussian_mixture_script_sample();
  }
  std::vector<std::pair<std::string, torch::Tensor>> script_tensors(
      const PriorContext& context) const override {
    auto p = parts(context);
    const auto cpu = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU).clone(); };
    return {{"prior_means", cpu(p.means)},
            {"prior_logvars", cpu(p.logvars)},
            {"prior_logits", cpu(p.logits)}};
  }

 private:
  struct Parts {
    torch::Tensor means, logvars, logits;
  };
  static Parts parts(const PriorContext& context) {
    if (!context.parameters) throw Error("internal: --prior mog read without its parameters");
    auto params = context.parameters->named_parameters(/*recurse=*/false);
    return {params["means"], params["logvars"], params["logits"]};
  }
};

}  // namespace

const Prior& mixture_of_gaussians_prior() {
  static const MixtureOfGaussians prior;
  return prior;
}

}  // namespace vae
