#include "vae/model/network_options.h"

#include <gtest/gtest.h>

#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(NetworkOptions, DefaultsAreThePyTorchExample) {
  const NetworkOptions options;
  EXPECT_EQ(options.arch(), parse_architecture("mlp"));
  EXPECT_EQ(options.hidden(), (std::vector<int64_t>{400}));
  EXPECT_EQ(options.latent_dim(), 20);
  EXPECT_EQ(options.input_size(), 784);
  EXPECT_NO_THROW(options.validate());
}

TEST(NetworkOptions, RejectsImpossibleShapes) {
  EXPECT_THROW(NetworkOptions().latent_dim(0).validate(), Error);
  EXPECT_THROW(NetworkOptions().hidden({400, -1}).validate(), Error);
  // Three stride-2 layers need a size divisible by 8; 28 is not.
  try {
    NetworkOptions().arch(parse_architecture("conv")).channels({8, 16, 32}).validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("must divide by 8"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(NetworkOptions().arch(parse_architecture("conv")).channels({8, 16}).validate());
  EXPECT_THROW(NetworkOptions().likelihood(parse_likelihood("gaussian")).sigma(0.0).validate(),
               Error);
  EXPECT_THROW(parse_architecture("resnet"), Error);
  // The autoregressive window: odd, at least 3, and families without a scale.
  EXPECT_NO_THROW(NetworkOptions().autoregressive_kernel(3).validate());
  EXPECT_THROW(NetworkOptions().autoregressive_kernel(4).validate(), Error);
  EXPECT_THROW(NetworkOptions().autoregressive_kernel(1).validate(), Error);
  EXPECT_THROW(NetworkOptions().autoregressive_kernel(-3).validate(), Error);
  EXPECT_THROW(
      NetworkOptions().likelihood(parse_likelihood("gaussian")).autoregressive_kernel(3).validate(),
      Error);
  // Its gated units: a count, and only with a window.
  EXPECT_NO_THROW(NetworkOptions().autoregressive_kernel(3).autoregressive_hidden(8).validate());
  EXPECT_THROW(NetworkOptions().autoregressive_kernel(3).autoregressive_hidden(-1).validate(),
               Error);
  EXPECT_THROW(NetworkOptions().autoregressive_hidden(8).validate(), Error);
  EXPECT_NO_THROW(NetworkOptions()
                      .autoregressive_kernel(3)
                      .autoregressive_hidden(2)
                      .autoregressive_gates_read_z(true)
                      .validate());
  EXPECT_THROW(
      NetworkOptions().autoregressive_kernel(3).autoregressive_gates_read_z(true).validate(),
      Error);
  EXPECT_THROW(NetworkOptions().autoregressive_gates_read_z(true).validate(), Error);
}

}  // namespace
}  // namespace vae
