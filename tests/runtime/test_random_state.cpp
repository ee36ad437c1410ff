#include "vae/runtime/random_state.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vae {
namespace {

TEST(RandomStateGuard, DrawsInsideLeaveTheStreamAsItWas) {
  torch::manual_seed(7);
  const torch::Tensor expected = torch::randn({5});
  torch::manual_seed(7);
  torch::Tensor inside;
  {
    const RandomStateGuard guard;
    inside = torch::randn({5});
    torch::rand({1000});
  }
  const torch::Tensor after = torch::randn({5});
  EXPECT_TRUE(torch::equal(after, expected));
  // The draws inside were real draws from the same state.
  EXPECT_TRUE(torch::equal(inside, expected));
}

}  // namespace
}  // namespace vae
