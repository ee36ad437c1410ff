#include "vae/model/decoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

namespace vae {
namespace {

TEST(Decoder, MlpAndConvProduceImages) {
  torch::manual_seed(0);
  for (const ArchitectureRef arch : {parse_architecture("mlp"), parse_architecture("conv")}) {
    Decoder decoder(DecoderOptions().arch(arch).channels({8, 16}).hidden({32}).latent_dim(5));
    const torch::Tensor out = decoder->forward(torch::randn({3, 5}));
    EXPECT_EQ(out.sizes(), (torch::IntArrayRef{3, 1, 28, 28})) << to_string(arch);
    const torch::Tensor x = torch::rand({3, 1, 28, 28});
    const torch::Tensor per_image = decoder->log_likelihood(x, out);
    EXPECT_EQ(per_image.sizes(), (torch::IntArrayRef{3}));
    EXPECT_TRUE(per_image.lt(0).all().item<bool>());
    EXPECT_NEAR(decoder->log_likelihood_sum(x, out).item<double>(), per_image.sum().item<double>(),
                1e-2);
  }
}

TEST(Decoder, GaussianSigmaIsFixedOrLearned) {
  Decoder fixed(DecoderOptions().likelihood(parse_likelihood("gaussian")).sigma(0.2).latent_dim(2));
  int64_t fixed_params = 0;
  for (const auto& p : fixed->parameters())
    fixed_params += p.numel();
  Decoder learned(DecoderOptions()
                      .likelihood(parse_likelihood("gaussian"))
                      .sigma(0.2)
                      .learn_sigma(true)
                      .latent_dim(2));
  int64_t learned_params = 0;
  for (const auto& p : learned->parameters())
    learned_params += p.numel();
  EXPECT_EQ(learned_params - fixed_params, 784);  // one log sigma per pixel
  EXPECT_NEAR(fixed->named_buffers()["log_sigma"].item<double>(), std::log(0.2), 1e-6);

  // With x equal to the mean, log p(x|z) = -784 (log sigma + 0.5 log 2 pi).
  const torch::Tensor out = fixed->forward(torch::zeros({1, 2}));
  const torch::Tensor x = torch::sigmoid(out);
  EXPECT_NEAR(fixed->log_likelihood(x, out)[0].item<double>(),
              -784.0 * (std::log(0.2) + 0.5 * std::log(2.0 * M_PI)), 1e-2);
}

TEST(Decoder, LogLikelihoodOfCopiesIsThatOfTheRepeatedImages) {
  // Values and parameter gradients, for a factorised decoder and for each
  // autoregressive window (linear, gates of x, gates that read z: fused in
  // float, the formula in double).
  struct Case {
    int64_t kernel, hidden;
    bool read_z;
    torch::Dtype dtype;
    int64_t features = 0;
  };
  for (const Case& c : {Case{0, 0, false, torch::kFloat32}, Case{3, 0, false, torch::kFloat32},
                        Case{5, 4, false, torch::kFloat32}, Case{5, 4, true, torch::kFloat32},
                        Case{5, 4, true, torch::kFloat64}, Case{5, 4, true, torch::kFloat32, 3},
                        Case{5, 4, false, torch::kFloat64, 3}}) {
    torch::manual_seed(1);
    Decoder decoder(DecoderOptions()
                        .latent_dim(3)
                        .hidden({16})
                        .autoregressive_kernel(c.kernel)
                        .autoregressive_hidden(c.hidden)
                        .autoregressive_gates_read_z(c.read_z)
                        .autoregressive_features(c.features));
    {
      torch::NoGradGuard no_grad;
      for (auto& p : decoder->parameters())
        p.normal_(0.0, 0.5);
    }
    decoder->to(c.dtype);
    const int64_t images = 3, copies = 4;
    const torch::Tensor x = torch::bernoulli(torch::full({images, 1, 28, 28}, 0.3, c.dtype));
    const torch::Tensor z = torch::randn({images * copies, 3}, c.dtype);
    std::vector<torch::Tensor> values, grads;
    for (bool of_copies : {false, true}) {
      decoder->zero_grad();
      const torch::Tensor output = decoder->forward(z);
      const torch::Tensor log_px =
          of_copies ? decoder->log_likelihood_of_copies(x, output, copies)
                    : decoder->log_likelihood(x.repeat_interleave(copies, 0), output);
      log_px.sum().backward();
      values.push_back(log_px.detach());
      torch::Tensor flat;
      for (const auto& p : decoder->parameters())
        flat = flat.defined() ? torch::cat({flat, p.grad().flatten()}) : p.grad().flatten();
      grads.push_back(flat);
    }
    const double tol = c.dtype == torch::kFloat64 ? 1e-10 : 1e-4;
    const std::string label =
        std::to_string(c.kernel) + " " + std::to_string(c.hidden) + " " + std::to_string(c.read_z);
    EXPECT_EQ(values[1].sizes(), (torch::IntArrayRef{images * copies})) << label;
    EXPECT_TRUE(torch::allclose(values[1], values[0], tol, tol)) << label;
    EXPECT_TRUE(torch::allclose(grads[1], grads[0], tol, tol * 10)) << label;
  }
}

}  // namespace
}  // namespace vae
