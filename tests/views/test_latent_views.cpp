#include "vae/views/latent_views.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(LatentViews, PriorCodesAreSeededAndScaledByTemperature) {
  VAE standard_normal(NetworkOptions{}.latent_dim(4).hidden({8}));
  const torch::Tensor a = prior_codes(*standard_normal, 5000, 1.0, 7);
  EXPECT_EQ(a.sizes(), (torch::IntArrayRef{5000, 4}));
  EXPECT_TRUE(torch::equal(a, prior_codes(*standard_normal, 5000, 1.0, 7)));
  EXPECT_FALSE(torch::equal(a, prior_codes(*standard_normal, 5000, 1.0, 8)));
  EXPECT_TRUE(torch::allclose(prior_codes(*standard_normal, 5000, 0.5, 7), 0.5 * a));
  EXPECT_NEAR(a.std().item<double>(), 1.0, 0.03);
}

TEST(LatentViews, InterpolationHitsBothEndsAndSlerpKeepsTheNorm) {
  const torch::Tensor a = torch::tensor({3.0f, 0.0f}), b = torch::tensor({0.0f, 3.0f});
  for (bool spherical : {false, true}) {
    const torch::Tensor path = interpolate_codes(a, b, 5, spherical);
    ASSERT_EQ(path.sizes(), (torch::IntArrayRef{5, 2}));
    EXPECT_TRUE(torch::allclose(path[0], a, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(path[4], b, 1e-5, 1e-5));
  }
  // Linear: the midpoint; spherical: the point at 45 degrees on the circle of radius 3.
  EXPECT_TRUE(torch::allclose(interpolate_codes(a, b, 3, false)[1], torch::tensor({1.5f, 1.5f})));
  const torch::Tensor mid = interpolate_codes(a, b, 3, true)[1];
  EXPECT_NEAR(mid.norm().item<double>(), 3.0, 1e-5);
  EXPECT_NEAR(mid[0].item<double>(), 3.0 / std::sqrt(2.0), 1e-5);
  // Parallel codes fall back to the straight line.
  EXPECT_TRUE(torch::allclose(interpolate_codes(a, 2 * a, 3, true)[1], 1.5 * a));
  EXPECT_THROW(interpolate_codes(a, b, 1, false), Error);
}

TEST(LatentViews, TraversalSweepsOneDimensionPerRow) {
  const torch::Tensor center = torch::tensor({0.5f, -1.0f, 2.0f});
  const torch::Tensor codes = traversal_codes(center, {2, 0}, 3, 3.0);
  ASSERT_EQ(codes.sizes(), (torch::IntArrayRef{6, 3}));
  // Row 0 sweeps dimension 2, row 1 dimension 0; the others stay at the centre.
  EXPECT_TRUE(
      torch::allclose(codes.select(1, 2).narrow(0, 0, 3), torch::tensor({-3.0f, 0.0f, 3.0f})));
  EXPECT_TRUE(torch::allclose(codes.select(1, 0).narrow(0, 0, 3), torch::full({3}, 0.5f)));
  EXPECT_TRUE(
      torch::allclose(codes.select(1, 0).narrow(0, 3, 3), torch::tensor({-3.0f, 0.0f, 3.0f})));
  EXPECT_TRUE(torch::allclose(codes.select(1, 1), torch::full({6}, -1.0f)));
}

TEST(LatentViews, ManifoldUsesTheGaussianInverseCdf) {
  const torch::Tensor codes = manifold_codes(3, 2, 0, 4);
  ASSERT_EQ(codes.sizes(), (torch::IntArrayRef{16, 3}));
  // Phi^-1(0.125) = -1.1503, Phi^-1(0.375) = -0.3186.
  EXPECT_NEAR(codes[0][2].item<double>(), -1.150349, 1e-5);  // first column
  EXPECT_NEAR(codes[1][2].item<double>(), -0.318639, 1e-5);
  EXPECT_NEAR(codes[0][0].item<double>(), 1.150349, 1e-5);  // top row is the largest value
  EXPECT_NEAR(codes[15][0].item<double>(), -1.150349, 1e-5);
  EXPECT_TRUE(codes.select(1, 1).eq(0).all().item<bool>());  // other dimensions at 0
}

TEST(LatentViews, DimensionsOrderedByKl) {
  EXPECT_EQ(dims_by_kl({0.1, 3.0, 0.0, 2.0}), (std::vector<int64_t>{1, 3, 0, 2}));
}

TEST(LatentViews, PcaFindsTheDirectionsOfLargestVariance) {
  torch::manual_seed(0);
  // Variance 9 along (1, 1)/sqrt2, 1 along (1, -1)/sqrt2, 0.01 in the third axis.
  const torch::Tensor latent = torch::randn({4000, 3}) * torch::tensor({3.0f, 1.0f, 0.1f});
  const float r = 1.0f / std::sqrt(2.0f);
  const torch::Tensor rotation = torch::tensor({{r, r, 0.0f}, {r, -r, 0.0f}, {0.0f, 0.0f, 1.0f}});
  const torch::Tensor points = latent.mm(rotation) + 5.0;
  const torch::Tensor projected = pca_project(points, 2);
  ASSERT_EQ(projected.sizes(), (torch::IntArrayRef{4000, 2}));
  EXPECT_NEAR(projected.select(1, 0).var().item<double>(), 9.0, 0.5);
  EXPECT_NEAR(projected.select(1, 1).var().item<double>(), 1.0, 0.06);
  EXPECT_NEAR(projected.mean().item<double>(), 0.0, 1e-4);
  // Up to sign, the first component is the first latent coordinate.
  const double corr =
      torch::corrcoef(torch::stack({projected.select(1, 0), latent.select(1, 0)}))[0][1]
          .item<double>();
  EXPECT_NEAR(std::abs(corr), 1.0, 1e-3);
}

}  // namespace
}  // namespace vae
