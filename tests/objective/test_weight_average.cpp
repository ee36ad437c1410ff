#include "vae/objective/weight_average.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using testing::error_of;

void set_all(torch::nn::Module& module, double value) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    p.fill_(value);
}

// a_T = d^T theta_0 + sum_{t=1..T} (1 - d) d^(T - t) theta_t, written out.
TEST(WeightAverage, FollowsTheExponentialRecursion) {
  torch::nn::Linear layer(3, 2);
  const std::vector<double> thetas = {0.5, -1.0, 2.0, 4.0, 0.25};
  const double d = 0.9;
  set_all(*layer, thetas[0]);
  WeightAverage average(*layer, d);
  for (size_t t = 1; t < thetas.size(); ++t) {
    set_all(*layer, thetas[t]);
    average.update();
  }
  const auto T = static_cast<double>(thetas.size() - 1);
  double expected = std::pow(d, T) * thetas[0];
  for (size_t t = 1; t < thetas.size(); ++t)
    expected += (1.0 - d) * std::pow(d, T - static_cast<double>(t)) * thetas[t];
  {
    WeightAverage::Applied applied(average);
    for (const auto& p : layer->parameters()) {
      EXPECT_NEAR(p.min().item<double>(), expected, 1e-6);
      EXPECT_NEAR(p.max().item<double>(), expected, 1e-6);
    }
  }
  // The trained values come back, exactly.
  for (const auto& p : layer->parameters())
    EXPECT_TRUE(torch::equal(p, torch::full_like(p, thetas.back())));
}

TEST(WeightAverage, AppliedSwapsInPlaceAndRestoresBitForBit) {
  torch::manual_seed(3);
  torch::nn::Linear layer(4, 3);
  WeightAverage average(*layer, 0.5);
  const torch::Tensor weight = layer->weight;  // a reference held elsewhere
  const torch::Tensor trained = weight.detach().clone();
  {
    torch::NoGradGuard no_grad;
    weight.add_(1.0);
  }
  average.update();  // a = (theta_0 + theta_1) / 2 = theta_0 + 0.5
  const torch::Tensor moved = weight.detach().clone();
  {
    WeightAverage::Applied applied(average);
    EXPECT_TRUE(torch::allclose(weight, trained + 0.5, 0.0, 1e-6));
  }
  EXPECT_TRUE(torch::equal(weight, moved));
}

TEST(WeightAverage, SavedAveragesLoadBackAndMisfitsAreRefused) {
  torch::manual_seed(4);
  torch::nn::Linear layer(3, 2);
  WeightAverage average(*layer, 0.8);
  set_all(*layer, 1.0);
  average.update();
  torch::serialize::OutputArchive out;
  average.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  const std::string saved = bytes.str();
  const auto archive = [&] {
    torch::serialize::InputArchive in;
    in.load_from(saved.data(), saved.size());
    return in;
  };

  torch::nn::Linear other(3, 2);
  WeightAverage restored(*other, 0.8);
  torch::serialize::InputArchive in = archive();
  restored.load(in, "test");
  torch::nn::Linear served(3, 2);
  in = archive();
  load_averaged_parameters(*served, in, "test");
  {
    WeightAverage::Applied a(average), b(restored);
    for (size_t i = 0; i < layer->parameters().size(); ++i) {
      EXPECT_TRUE(torch::equal(layer->parameters()[i], other->parameters()[i]));
      EXPECT_TRUE(torch::equal(layer->parameters()[i], served->parameters()[i]));
    }
  }

  torch::nn::Linear wider(4, 2);
  in = archive();
  EXPECT_NE(error_of([&] { load_averaged_parameters(*wider, in, "test"); }).find("has shape"),
            std::string::npos);
  torch::nn::Sequential nested(torch::nn::Linear(3, 2));
  WeightAverage foreign(*nested, 0.8);
  in = archive();
  EXPECT_NE(error_of([&] { foreign.load(in, "test"); }).find("no averaged weights for parameter"),
            std::string::npos);
  for (double bad : {0.0, 1.0, -0.5, std::nan("")}) {
    EXPECT_THROW(WeightAverage(*layer, bad), Error) << bad;
  }
}

}  // namespace
}  // namespace vae
