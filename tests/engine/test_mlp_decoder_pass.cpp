#include "vae/engine/mlp_decoder_pass.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace vae {
namespace {

struct PassCase {
  const char* name;
  NetworkOptions options;
};

// Small images keep the comparison fast; two hidden layers exercise the loop
// over layers, a hierarchy the narrowing to its bottom layer, an IAF
// posterior that the encoder side does not matter.
std::vector<PassCase> pass_cases() {
  const NetworkOptions small = NetworkOptions().height(12).width(10).hidden({48, 24}).latent_dim(6);
  return {
      {"bernoulli", small},
      {"default-sizes", NetworkOptions()},
      {"gaussian-fixed", NetworkOptions(small).likelihood(parse_likelihood("gaussian")).sigma(0.3)},
      {"gaussian-learned",
       NetworkOptions(small).likelihood(parse_likelihood("gaussian")).sigma(0.2).learn_sigma(true)},
      {"no-hidden", NetworkOptions(small).hidden({})},
      {"iaf-posterior", NetworkOptions(small).posterior(parse_posterior("iaf"))},
      {"two-latent-layers",
       NetworkOptions(small).latent_layers(2).latent_dims({6, 3}).layer_hidden({8})},
      {"autoregressive", NetworkOptions(small).autoregressive_kernel(5)},
      {"gated-autoregressive",
       NetworkOptions(small).autoregressive_kernel(5).autoregressive_hidden(3)},
      {"gates-reading-z", NetworkOptions(small)
                              .autoregressive_kernel(5)
                              .autoregressive_hidden(3)
                              .autoregressive_gates_read_z(true)},
      {"gates-reading-z-two-layers", NetworkOptions(small)
                                         .autoregressive_kernel(5)
                                         .autoregressive_hidden(3)
                                         .autoregressive_gates_read_z(true)
                                         .autoregressive_features(2)},
      {"gates-reading-z-two-channels", NetworkOptions(small)
                                           .in_channels(2)
                                           .autoregressive_kernel(3)
                                           .autoregressive_hidden(2)
                                           .autoregressive_gates_read_z(true)}};
}

// The modules' log p(x|z) for each row against the pass's.
void expect_matches_modules(const PassCase& c, int64_t rows, uint64_t seed, GemmBackend gemm) {
  SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(rows) + " rows, " + to_string(gemm) +
               ", " + std::to_string(at::get_num_threads()) + " threads");
  torch::manual_seed(seed);
  VAE model(c.options);
  model->eval();
  if (c.options.learn_sigma()) {
    // A different sigma per pixel.
    torch::NoGradGuard no_grad;
    model->decoder->log_sigma().uniform_(-2.0, -0.5);
  }
  if (!model->decoder->context().is_empty()) {
    // Weights away from their zero start, so the offsets count.
    torch::NoGradGuard no_grad;
    for (auto& p : model->decoder->context()->named_parameters())
      p.value().normal_(0.0, 0.5);
  }
  ASSERT_TRUE(MlpDecoderPass::covers(model));
  int64_t code = 0;
  for (int64_t d : c.options.layer_dims())
    code += d;
  const torch::Tensor z = 2.0 * torch::randn({rows, code});
  torch::Tensor x =
      torch::rand({rows, c.options.in_channels(), c.options.height(), c.options.width()});
  if (!c.options.likelihood()->has_scale()) x = x.round();
  // The first half in runs of three equal images, as the evaluation repeats
  // each image for its codes (the autoregressive offsets are computed once
  // per run); the rest distinct.
  const int64_t half = rows / 2;
  x.narrow(0, 0, half)
      .copy_(x.narrow(0, 0, (half + 2) / 3).repeat_interleave(3, 0).narrow(0, 0, half).clone());
  torch::Tensor expected;
  {
    const torch::NoGradGuard no_grad;
    expected = model->decoder->log_likelihood(x, model->decode(z));
  }
  MlpDecoderPass pass(model, gemm);
  const torch::Tensor got = pass.log_likelihood(x, z);
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LT(testing::relative_diff(got, expected), 1e-5);
  // A second call, fewer rows: the kept buffers serve it.
  const torch::Tensor again = pass.log_likelihood(x.narrow(0, 1, 7), z.narrow(0, 1, 7));
  EXPECT_LT(testing::relative_diff(again, expected.narrow(0, 1, 7)), 1e-5);
}

TEST(MlpDecoderPass, EqualsTheModulesLogLikelihood) {
  // 1100 rows: two full blocks of 512 and a partial one.
  for (GemmBackend gemm : testing::gemm_backends()) {
    for (const PassCase& c : pass_cases())
      expect_matches_modules(c, 1100, 1, gemm);
  }
}

TEST(MlpDecoderPass, EqualsTheModulesOnSeveralThreads) {
  // Three threads share five blocks unevenly.
  const testing::ScopedThreads three(3);
  for (GemmBackend gemm : testing::gemm_backends()) {
    for (const PassCase& c : pass_cases())
      expect_matches_modules(c, 2100, 4, gemm);
  }
}

TEST(MlpDecoderPass, ExtremeLogitsStayFinite) {
  const NetworkOptions options = NetworkOptions().height(4).width(4).hidden({8}).latent_dim(2);
  for (double bias : {90.0, -90.0}) {
    torch::manual_seed(3);
    VAE model(options);
    {
      torch::NoGradGuard no_grad;
      model->decoder->parameters().back().fill_(bias);  // the output bias
    }
    const torch::Tensor x = torch::rand({6, 1, 4, 4}).round();
    const torch::Tensor z = torch::randn({6, 2});
    torch::Tensor expected;
    {
      const torch::NoGradGuard no_grad;
      expected = model->decoder->log_likelihood(x, model->decode(z));
    }
    const torch::Tensor got = MlpDecoderPass(model).log_likelihood(x, z);
    EXPECT_TRUE(got.isfinite().all().item<bool>()) << bias;
    EXPECT_LT(testing::relative_diff(got, expected), 1e-5) << bias;
  }
}

TEST(MlpDecoderPass, CoversFullyConnectedFloatDecodersOnTheCpu) {
  EXPECT_TRUE(MlpDecoderPass::covers(VAE(NetworkOptions())));
  EXPECT_FALSE(MlpDecoderPass::covers(VAE(NetworkOptions().arch(parse_architecture("conv")))));
  EXPECT_FALSE(MlpDecoderPass::covers(
      VAE(NetworkOptions().likelihood(parse_likelihood("continuous-bernoulli")))));
  VAE doubled(NetworkOptions().hidden({8}).latent_dim(2));
  doubled->to(torch::kFloat64);
  EXPECT_FALSE(MlpDecoderPass::covers(doubled));
  VAE tanh(NetworkOptions().hidden({8}).latent_dim(2));
  torch::nn::Sequential decoder_body = tanh->decoder->body();
  decoder_body->push_back(torch::nn::Tanh());
  EXPECT_FALSE(MlpDecoderPass::covers(tanh));
  EXPECT_NE(testing::error_of([] {
              MlpDecoderPass(VAE(NetworkOptions().arch(parse_architecture("conv"))));
            }).find("fully connected"),
            std::string::npos);
}

TEST(MlpDecoderPass, RejectsInputOfTheWrongShape) {
  VAE model(NetworkOptions().hidden({8}).latent_dim(2));
  MlpDecoderPass pass(model);
  EXPECT_NE(testing::error_of([&] {
              pass.log_likelihood(torch::rand({4, 1, 27, 28}), torch::randn({4, 2}));
            }),
            "");
  EXPECT_NE(testing::error_of([&] {
              pass.log_likelihood(torch::rand({4, 1, 28, 28}), torch::randn({4, 1}));
            }),
            "");
  EXPECT_NE(testing::error_of([&] {
              pass.log_likelihood(torch::rand({3, 1, 28, 28}), torch::randn({4, 2}));
            }),
            "");
}

}  // namespace
}  // namespace vae
