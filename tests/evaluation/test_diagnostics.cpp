#include "vae/evaluation/diagnostics.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vae {
namespace {

TEST(Diagnostics, ActiveUnitsCountDimensionsWhoseMeanVaries) {
  torch::manual_seed(0);
  const int64_t n = 5000;
  // Dimension d's posterior mean has standard deviation s_d across the data.
  const torch::Tensor scale = torch::tensor({1.0, 0.5, 0.2, 0.05, 0.0, 0.001});
  const torch::Tensor mu = torch::randn({n, 6}) * scale;
  const torch::Tensor variance = posterior_mean_variance(mu);
  EXPECT_NEAR(variance[0].item<double>(), 1.0, 0.06);
  EXPECT_NEAR(variance[2].item<double>(), 0.04, 0.003);
  EXPECT_EQ(variance[4].item<double>(), 0.0);
  // Variances 1, 0.25, 0.04 exceed 0.01; 0.0025, 0 and 1e-6 do not.
  EXPECT_EQ(count_active_units(mu, 0.01), 3);
  EXPECT_EQ(count_active_units(mu, 0.001), 4);
}

}  // namespace
}  // namespace vae
