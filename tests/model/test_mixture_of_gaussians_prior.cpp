// The learned mixture-of-Gaussians prior against a brute-force mixture
// (issue 18, proof b), its draws, and its training with the model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_support.h"
#include "vae/model/gaussian.h"
#include "vae/model/network_options.h"
#include "vae/model/prior.h"
#include "vae/model/vae_model.h"

namespace vae {
namespace {

NetworkOptions mog(int64_t components, int64_t latent) {
  return NetworkOptions{}.prior(parse_prior("mog")).prior_components(components).latent_dim(latent);
}

TEST(MixtureOfGaussiansPrior, LogDensityIsTheBruteForceMixture) {
  torch::manual_seed(1);
  const NetworkOptions o = mog(4, 3);
  const Prior& prior = *o.prior();
  auto parameters = prior.make_parameters(o);
  parameters->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : parameters->parameters())
      p.copy_(torch::randn_like(p));
  }
  const PriorContext context{o, parameters, {}};
  auto params = parameters->named_parameters();
  const torch::Tensor log_w = torch::log_softmax(params["logits"], 0);
  for (const torch::Tensor& z :
       {torch::randn({5, 3}, torch::kFloat64) * 2.0, torch::randn({2, 4, 3}, torch::kFloat64)}) {
    const torch::Tensor flat = z.reshape({-1, 3});
    std::vector<torch::Tensor> terms;
    for (int64_t k = 0; k < 4; ++k) {
      terms.push_back(log_w[k] + log_normal_diag(flat, params["means"][k], params["logvars"][k]));
    }
    const torch::Tensor brute =
        torch::logsumexp(torch::stack(terms, 1), 1)
            .reshape(std::vector<int64_t>(z.sizes().begin(), z.sizes().end() - 1));
    const torch::Tensor log_p = prior.log_prob(z, context);
    ASSERT_EQ(log_p.sizes(), brute.sizes());
    EXPECT_LE((log_p - brute).abs().max().item<double>(), 1e-10);
  }
}

TEST(MixtureOfGaussiansPrior, DrawsPickComponentsByTheirWeights) {
  const NetworkOptions o = mog(2, 2);
  auto parameters = o.prior()->make_parameters(o);
  {
    torch::NoGradGuard no_grad;
    auto params = parameters->named_parameters();
    params["means"].copy_(torch::tensor({{-10.0f, 0.0f}, {10.0f, 0.0f}}));
    params["logits"].copy_(torch::tensor({0.0f, std::log(3.0f)}));  // weights 1/4, 3/4
  }
  auto generator = at::detail::createCPUGenerator(3);
  const int64_t n = 20000;
  const torch::Tensor z = o.prior()->sample(n, PriorContext{o, parameters, {}}, 1.0, generator);
  ASSERT_EQ(z.sizes(), (torch::IntArrayRef{n, 2}));
  const double right = z.select(1, 0).gt(0.0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(right, 0.75, 4.0 * std::sqrt(0.75 * 0.25 / n));
  // Unit variance around each mean.
  EXPECT_NEAR(z.select(1, 1).var().item<double>(), 1.0, 4.0 * std::sqrt(2.0 / n));
}

TEST(MixtureOfGaussiansPrior, TrainsWithTheModelByTheMonteCarloKl) {
  torch::manual_seed(2);
  VAE model(mog(3, 2).height(4).width(4).hidden({16}));
  EXPECT_NE(model->named_parameters().find("prior.means"), nullptr);
  const torch::Tensor x = torch::rand({32, 1, 4, 4}).round();
  const ElboTerms terms = model->elbo(x);
  EXPECT_EQ(terms.kl_per_dim.size(0), 1);  // no closed form: one Monte Carlo column
  terms.loss.backward();
  for (const char* name : {"prior.means", "prior.logvars", "prior.logits"}) {
    EXPECT_GT(model->named_parameters()[name].grad().abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(MixtureOfGaussiansPrior, RefusesNoComponents) {
  EXPECT_EQ(testing::error_of([] { mog(0, 2).validate(); }),
            "--prior-components must be at least 1, not 0");
}

}  // namespace
}  // namespace vae
