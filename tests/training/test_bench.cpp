#include "vae/training/bench.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>

#include "test_support.h"

namespace vae {
namespace {

TEST(Bench, TheDefaultMlpCosts328MflopPerTrainingImage) {
  VAE model(NetworkOptions().hidden({400}).latent_dim(20).in_channels(1).height(28).width(28));
  const std::vector<LayerProduct> layers = layer_products(model);
  ASSERT_EQ(layers.size(), 4u);
  const std::vector<std::array<int64_t, 3>> shapes = {
      {1, 784, 400}, {1, 400, 40}, {1, 20, 400}, {1, 400, 784}};
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ((std::array<int64_t, 3>{layers[i].rows, layers[i].inner, layers[i].cols}), shapes[i])
        << layers[i].name;
  }
  // 3 x 1,302,400 forward FLOP, less the first layer's input gradient.
  EXPECT_EQ(training_flop_per_image(layers), 3280000.0);
}

TEST(Bench, ConvolutionsCountAsTheirIm2colProducts) {
  VAE model(NetworkOptions()
                .arch(parse_architecture("conv"))
                .channels({32, 64})
                .hidden({})
                .latent_dim(8)
                .in_channels(1)
                .height(28)
                .width(28));
  const std::vector<LayerProduct> layers = layer_products(model);
  // conv 1->32 (14x14 out), conv 32->64 (7x7), head, decoder linear, two transposed convs.
  ASSERT_EQ(layers.size(), 6u);
  EXPECT_EQ(layers[0].rows, 14 * 14);
  EXPECT_EQ(layers[0].inner, 1 * 16);
  EXPECT_EQ(layers[0].cols, 32);
  EXPECT_EQ(layers[1].rows, 7 * 7);
  EXPECT_EQ(layers[1].inner, 32 * 16);
  EXPECT_EQ(layers[2].inner, 64 * 7 * 7);
  EXPECT_EQ(layers[2].cols, 16);
  EXPECT_EQ(layers[4].rows, 7 * 7);  // transposed conv 64->32 on 7x7 input
  EXPECT_EQ(layers[4].inner, 64);
  EXPECT_EQ(layers[4].cols, 32 * 16);
  EXPECT_EQ(layers[5].rows, 14 * 14);
  EXPECT_EQ(layers[5].cols, 1 * 16);
}

TEST(Bench, RunsOnAnMnistSubsetAndReportsEveryPart) {
  TrainConfig config;
  config.data_dir = testing::mnist_dir();
  config.train_size = 1000;
  config.test_size = 300;
  config.threads = 1;
  config.network.hidden({64}).latent_dim(4);
  BenchOptions options;
  options.steps = 4;
  options.warmup = 2;
  const BenchResult r = run_bench(config, options);
  EXPECT_EQ(r.steps, 4);
  EXPECT_EQ(r.images, 4 * 128);
  EXPECT_GT(r.images_per_s, 0.0);
  EXPECT_NEAR(r.gflops, r.images_per_s * r.flop_per_image / 1e9, 1e-9);
  EXPECT_NEAR(r.epoch_seconds, 1000.0 / r.images_per_s, 1e-9);
  EXPECT_GT(r.matmul_gflops, 0.0);
  EXPECT_GT(r.eval_seconds, 0.0);
  EXPECT_GT(r.eval_seconds_with_mi, 0.0);
  EXPECT_GT(r.encode_seconds, 0.0);
  EXPECT_GT(r.peak_rss_bytes, int64_t{50} << 20);
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["train"]["images"], 512);
  EXPECT_EQ(j["layers"].size(), 4u);
  EXPECT_EQ(j["eval"]["images"], 300);
  const std::string report = bench_report(r);
  for (const char* part : {"training", "matmul only", "evaluation", "encoding", "peak memory"}) {
    EXPECT_NE(report.find(part), std::string::npos) << part;
  }
}

TEST(Bench, PeakMemoryIsReadFromTheKernel) {
  const int64_t before = peak_rss_bytes();
  EXPECT_GT(before, 0);
  {
    std::vector<char> block(int64_t{64} << 20, 1);  // written: resident
    EXPECT_GE(peak_rss_bytes(), std::max<int64_t>(before, int64_t{64} << 20));
    EXPECT_EQ(block[12345], 1);
  }
}

}  // namespace
}  // namespace vae
