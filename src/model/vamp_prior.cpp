// The VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior", eq. 9):
//   p(z) = (1/K) sum_k q(z | u_k),
// the mixture of the encoder's posteriors at K learned pseudo-inputs u_k of
// the image shape. The pseudo-inputs are kept in [0, 1] by a hard tanh and
// start at N(0.05, 0.01^2) per pixel, as in the paper's code for MNIST.
// It needs the Gaussian posterior's density in closed form: --posterior
// diagonal-gaussian.
#include <torch/torch.h>

#include <cmath>

#include "vae/model/gaussian.h"
#include "vae/model/network_options.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

constexpr double kInitialMean = 0.05, kInitialStd = 0.01;

class VampPrior final : public Prior {
 public:
  const char* name() const override { return "vamp"; }
  std::string help() const override {
    return "the VampPrior: the posteriors' mixture at --pseudo-inputs learned images (Tomczak & "
           "Welling 2018)";
  }
  std::shared_ptr<torch::nn::Module> make_parameters(const NetworkOptions& o) const override {
    auto module = std::make_shared<torch::nn::Module>("VampPrior");
    module->register_parameter(
        "pseudo_inputs",
        torch::randn({o.pseudo_inputs(), o.in_channels(), o.height(), o.width()}) * kInitialStd +
            kInitialMean);
    return module;
  }
  void validate(const NetworkOptions& o) const override {
    if (o.pseudo_inputs() < 1) {
      throw Error("--pseudo-inputs must be at least 1, not " + std::to_string(o.pseudo_inputs()));
    }
    if (std::string(o.posterior()->name()) != "diagonal-gaussian") {
      throw Error(std::string("--prior vamp needs --posterior diagonal-gaussian (a mixture of its "
                              "closed-form densities), not ") +
                  o.posterior()->name());
    }
  }

  torch::Tensor log_prob(const torch::Tensor& z, const PriorContext& context) const override {
    const auto [mu, logvar] = components(context);
    const int64_t k = mu.size(0);
    return log_normal_mixture(z, mu, logvar,
                              torch::full({k}, -std::log(static_cast<double>(k)), mu.options()));
  }
  torch::Tensor sample(int64_t n, const PriorContext& context, double temperature,
                       at::Generator& generator) const override {
    torch::NoGradGuard no_grad;
    auto [mu, logvar] = components(context);
    mu = mu.to(torch::kCPU, torch::kFloat32);
    logvar = logvar.to(torch::kCPU, torch::kFloat32);
    const torch::Tensor component = at::randint(mu.size(0), {n}, generator, torch::kLong);
    const torch::Tensor eps =
        at::randn({n, mu.size(1)}, generator, torch::TensorOptions().dtype(torch::kFloat32));
    return mu.index_select(0, component) +
           torch::exp(0.5 * logvar.index_select(0, component)) * eps * temperature;
  }
  // Once trained, the prior is a fixed mixture of K Gaussians: the exported
  // decoder holds their parameters, not the encoder.
  std::string script_sample(const NetworkOptions& /*options*/) const override {
    return gaussian_mixture_script_sample();
  }
  std::vector<std::pair<std::string, torch::Tensor>> script_tensors(
      const PriorContext& context) const override {
    torch::NoGradGuard no_grad;
    const auto [mu, logvar] = components(context);
    const auto cpu = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU).clone(); };
    return {{"prior_means", cpu(mu)},
            {"prior_logvars", cpu(logvar)},
            {"prior_logits", torch::zeros({mu.size(0)}, mu.options().device(torch::kCPU))}};
  }

  torch::Tensor pseudo_inputs(const PriorContext& context) const override {
    return images(context);
  }

  // The pseudo-inputs as images in [0, 1] [K, C, H, W].
  static torch::Tensor images(const PriorContext& context) {
    if (!context.parameters) throw Error("internal: --prior vamp read without its parameters");
    return torch::clamp(context.parameters->named_parameters(false)["pseudo_inputs"], 0.0, 1.0);
  }

 private:
  // The posterior's mu and logvar at each pseudo-input [K, D].
  static std::pair<torch::Tensor, torch::Tensor> components(const PriorContext& context) {
    const std::vector<torch::Tensor> outputs = context.encode(images(context))->outputs();
    return {outputs.at(0), outputs.at(1)};
  }
};

}  // namespace

const Prior& vamp_prior() {
  static const VampPrior prior;
  return prior;
}

}  // namespace vae
