#include "vae/evaluation/model_calibration.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "vae/model/posterior.h"
#include "vae/model/prior.h"

namespace vae {
namespace {

CalibrationOptions small(int64_t simulations, int64_t draws) {
  CalibrationOptions o;
  o.simulations = simulations;
  o.draws = draws;
  o.rows = 60;  // several passes
  o.seed = 3;
  return o;
}

TEST(ModelCalibration, RanksOfEveryUnitFromTheModelsOwnSimulations) {
  torch::manual_seed(0);
  VAE model(NetworkOptions().latent_dim(3).hidden({16}));
  model->train();
  const SimulationRanks s = simulate_ranks(*model, torch::kCPU, small(25, 9));
  ASSERT_EQ(s.ranks.sizes(), (std::vector<int64_t>{25, 3}));
  EXPECT_GE(s.ranks.min().item<int64_t>(), 0);
  EXPECT_LE(s.ranks.max().item<int64_t>(), 9);
  ASSERT_EQ(s.density_pit.size(0), 25);
  EXPECT_GT(s.density_pit.min().item<double>(), 0.0);
  EXPECT_LT(s.density_pit.max().item<double>(), 1.0);
  EXPECT_EQ(s.names, (std::vector<std::string>{"z0", "z1", "z2"}));
  EXPECT_EQ(s.draws, 9);
  EXPECT_TRUE(model->is_training());  // put back as it was
  // The same seed gives the same simulations; another seed others.
  EXPECT_TRUE(torch::equal(simulate_ranks(*model, torch::kCPU, small(25, 9)).ranks, s.ranks));
  CalibrationOptions other = small(25, 9);
  other.seed = 4;
  EXPECT_FALSE(torch::equal(simulate_ranks(*model, torch::kCPU, other).ranks, s.ranks));
}

// A posterior equal to the prior is calibrated whatever x says: z* and the
// draws are then all draws from p(z), so the ranks are uniform (Talts et
// al. 2018, sec. 4: SBC checks calibration, not informativeness). An
// encoder with every parameter zero gives (mu, log sigma^2) = (0, 0), the
// prior; setting log sigma^2 to log 1/4 halves its spread: over-confident.
TEST(ModelCalibration, APosteriorEqualToThePriorIsCalibrated) {
  torch::manual_seed(1);
  VAE model(NetworkOptions().latent_dim(2).hidden({8}));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->encoder->parameters())
      p.zero_();
  }
  CalibrationOptions o = small(400, 19);
  o.rows = 2000;
  const SimulationRanks s = simulate_ranks(*model, torch::kCPU, o);
  auto generator = at::detail::createCPUGenerator(9);
  const torch::Tensor u = rank_pit(s.ranks, s.draws, generator);
  for (int64_t d = 0; d < 2; ++d) {
    const DimensionCalibration c = calibrate_dimension(u.select(1, d), s.names[d]);
    EXPECT_EQ(c.verdict, Verdict::kOk) << c.name << " p " << c.p_value;
  }
  {
    torch::NoGradGuard no_grad;
    auto params = model->encoder->named_parameters();
    for (auto& p : params) {
      // The last layer's bias: [mu (2), logvar (2)].
      if (p.value().dim() == 1 && p.value().size(0) == 4)
        p.value().narrow(0, 2, 2).fill_(std::log(0.25));
    }
  }
  const SimulationRanks narrow = simulate_ranks(*model, torch::kCPU, o);
  const torch::Tensor v = rank_pit(narrow.ranks, narrow.draws, generator);
  for (int64_t d = 0; d < 2; ++d)
    EXPECT_EQ(calibrate_dimension(v.select(1, d), "z").verdict, Verdict::kOverConfident);
}

TEST(ModelCalibration, HierarchiesNameTheirLayersAndCategoricalsTheirVariables) {
  torch::manual_seed(2);
  VAE two(
      NetworkOptions().latent_layers(2).latent_dims({3, 2}).latent_dim(3).layer_hidden({8}).hidden(
          {8}));
  const SimulationRanks h = simulate_ranks(*two, torch::kCPU, small(6, 4));
  EXPECT_EQ(h.names, (std::vector<std::string>{"z1.0", "z1.1", "z1.2", "z2.0", "z2.1"}));
  EXPECT_EQ(h.layer_of, (std::vector<int64_t>{0, 0, 0, 1, 1}));
  ASSERT_EQ(h.ranks.size(1), 5);

  VAE cat(NetworkOptions()
              .posterior(parse_posterior("categorical"))
              .prior(parse_prior("uniform-categorical"))
              .categorical_vars(3)
              .categories(4)
              .latent_dim(12)
              .hidden({8}));
  const SimulationRanks c = simulate_ranks(*cat, torch::kCPU, small(30, 9));
  EXPECT_EQ(c.names, (std::vector<std::string>{"c0", "c1", "c2"}));
  ASSERT_EQ(c.ranks.size(1), 3);
  EXPECT_LE(c.ranks.max().item<int64_t>(), 9);
}

TEST(ModelCalibration, PredictiveCheckOfBinaryTestImages) {
  torch::manual_seed(3);
  VAE model(NetworkOptions().latent_dim(2).hidden({8}));
  const torch::Tensor images = (torch::rand({7, 28, 28}) < 0.3).to(torch::kUInt8) * 255;
  const PredictiveCheck p = predictive_check(*model, images, torch::kCPU, small(1, 9));
  EXPECT_TRUE(p.binary);
  EXPECT_EQ(p.images, 7);
  EXPECT_EQ(p.pixels, 7 * 784);
  EXPECT_EQ(p.coverage.alpha.size(), 99u);
  int64_t total = 0;
  for (int64_t count : p.reliability.counts)
    total += count;
  EXPECT_EQ(total, 7 * 784);
  // Grey levels are not binary data: no reliability diagram.
  const torch::Tensor grey = torch::randint(0, 256, {3, 28, 28}).to(torch::kUInt8);
  EXPECT_FALSE(predictive_check(*model, grey, torch::kCPU, small(1, 9)).binary);
}

TEST(ModelCalibration, RejectsTooFewSimulationsOrDraws) {
  VAE model(NetworkOptions().latent_dim(2).hidden({8}));
  EXPECT_EQ(testing::error_of([&] { simulate_ranks(*model, torch::kCPU, small(1, 9)); }),
            "--simulations must be at least 2");
  EXPECT_EQ(testing::error_of([&] { simulate_ranks(*model, torch::kCPU, small(5, 1)); }),
            "--draws must be at least 2");
}

}  // namespace
}  // namespace vae
