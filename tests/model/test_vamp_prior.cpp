// The VampPrior against a brute-force loop over its pseudo-inputs (issue
// 18, proof b), its gradients and its refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_support.h"
#include "vae/model/network_options.h"
#include "vae/model/prior.h"
#include "vae/model/vae_model.h"

namespace vae {
namespace {

NetworkOptions vamp(int64_t pseudo_inputs) {
  return NetworkOptions{}
      .prior(parse_prior("vamp"))
      .pseudo_inputs(pseudo_inputs)
      .latent_dim(3)
      .height(4)
      .width(4)
      .hidden({16});
}

TEST(VampPrior, LogDensityIsTheMeanOfThePseudoInputsPosteriors) {
  torch::manual_seed(4);
  VAE model(vamp(5));
  model->to(torch::kFloat64);
  const torch::Tensor u =
      torch::clamp(model->named_parameters()["prior.pseudo_inputs"], 0.0, 1.0);  // [5, 1, 4, 4]
  for (const torch::Tensor& z :
       {torch::randn({6, 3}, torch::kFloat64), torch::randn({2, 3, 3}, torch::kFloat64)}) {
    const torch::Tensor flat = z.reshape({-1, 3});
    std::vector<torch::Tensor> terms;
    for (int64_t k = 0; k < 5; ++k) {
      const auto q = model->encode(u.narrow(0, k, 1));
      terms.push_back(q->log_prob(flat.unsqueeze(1)).squeeze(0) - std::log(5.0));  // [B]
    }
    const torch::Tensor brute =
        torch::logsumexp(torch::stack(terms, 1), 1)
            .reshape(std::vector<int64_t>(z.sizes().begin(), z.sizes().end() - 1));
    EXPECT_LE((model->log_prior(z) - brute).abs().max().item<double>(), 1e-10);
  }
}

TEST(VampPrior, GradientsReachThePseudoInputsAndTheEncoder) {
  torch::manual_seed(5);
  VAE model(vamp(4));
  const torch::Tensor x = torch::rand({16, 1, 4, 4}).round();
  model->elbo(x).loss.backward();
  // Pseudo-inputs start inside [0, 1], where the hard tanh passes gradients.
  EXPECT_GT(model->named_parameters()["prior.pseudo_inputs"].grad().abs().sum().item<double>(),
            0.0);
  auto generator = at::detail::createCPUGenerator(1);
  const torch::Tensor z = model->prior().sample(7, model->prior_context(), 1.0, generator);
  EXPECT_EQ(z.sizes(), (torch::IntArrayRef{7, 3}));
}

TEST(VampPrior, RefusesWhatItCannotServe) {
  EXPECT_EQ(testing::error_of([] { vamp(0).validate(); }),
            "--pseudo-inputs must be at least 1, not 0");
  EXPECT_EQ(testing::error_of([] { vamp(3).posterior(parse_posterior("iaf")).validate(); }),
            "--prior vamp needs --posterior diagonal-gaussian (a mixture of its closed-form "
            "densities), not iaf");
}

}  // namespace
}  // namespace vae
