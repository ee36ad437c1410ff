#include "vae/data/batcher.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include <cmath>

#include "vae/runtime/error.h"

namespace vae {
namespace {

// 10 images of 1x1 pixel whose value encodes their index.
torch::Tensor indexed_images(int64_t n) {
  return (torch::arange(n) * 20).to(torch::kUInt8).view({n, 1, 1});
}

TEST(Batcher, EveryImageOncePerEpochInAFreshOrder) {
  torch::manual_seed(3);
  Batcher batcher(indexed_images(10), 4, Binarize::kNone, torch::kCPU);
  EXPECT_EQ(batcher.num_batches(), 3);
  std::vector<int64_t> first_order;
  for (int epoch = 0; epoch < 2; ++epoch) {
    batcher.shuffle();
    std::vector<int64_t> seen;
    for (int64_t i = 0; i < batcher.num_batches(); ++i) {
      const torch::Tensor x = batcher.batch(i);
      EXPECT_EQ(x.dim(), 4);
      EXPECT_EQ(x.size(0), i < 2 ? 4 : 2);  // the last batch is short
      EXPECT_EQ(x.scalar_type(), torch::kFloat32);
      for (int64_t k = 0; k < x.size(0); ++k) {
        seen.push_back(std::lround(x[k].item<double>() * 255.0 / 20.0));
      }
    }
    std::vector<int64_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    if (epoch == 0)
      first_order = seen;
    else
      EXPECT_NE(seen, first_order);  // a new permutation each epoch
  }
}

TEST(Batcher, FileOrderWithoutShuffleAndValuesInUnitInterval) {
  Batcher batcher(indexed_images(10), 10, Binarize::kNone, torch::kCPU);
  const torch::Tensor x = batcher.batch(0).flatten();
  EXPECT_TRUE(torch::allclose(x, torch::arange(10).to(torch::kFloat32) * 20.0 / 255.0));
  EXPECT_GE(x.min().item<float>(), 0.0f);
  EXPECT_LE(x.max().item<float>(), 1.0f);
}

TEST(Batcher, DynamicBinarizationDrawsAfreshWithTheRightMean) {
  torch::manual_seed(5);
  // 4000 pixels of grey 0.25 (64/255 ~ 0.251).
  const torch::Tensor images = torch::full({4000, 1, 1}, 64, torch::kUInt8);
  Batcher batcher(images, 4000, Binarize::kDynamic, torch::kCPU);
  const torch::Tensor a = batcher.batch(0), b = batcher.batch(0);
  EXPECT_TRUE(torch::logical_or(a.eq(0), a.eq(1)).all().item<bool>());
  EXPECT_FALSE(torch::equal(a, b));
  // Bernoulli mean 64/255, standard error sqrt(p(1-p)/n) ~ 0.007.
  EXPECT_NEAR(a.mean().item<double>(), 64.0 / 255.0, 0.03);
}

TEST(Batcher, StaticBinarizationIsOneFixedDraw) {
  const torch::Tensor images = torch::full({2000, 1, 1}, 128, torch::kUInt8);
  torch::manual_seed(1);
  Batcher first(images, 2000, Binarize::kStatic, torch::kCPU);
  torch::manual_seed(2);  // the draw does not depend on the global seed
  Batcher second(images, 2000, Binarize::kStatic, torch::kCPU);
  const torch::Tensor a = first.batch(0);
  EXPECT_TRUE(torch::equal(a, first.batch(0)));
  EXPECT_TRUE(torch::equal(a, second.batch(0)));
  EXPECT_TRUE(torch::logical_or(a.eq(0), a.eq(1)).all().item<bool>());
  EXPECT_NEAR(a.mean().item<double>(), 128.0 / 255.0, 0.05);
}

TEST(Batcher, MutationReplacesTheRateOfPixelsWithUniformGreyLevels) {
  // 400 images of 10x10 mid-grey (128): a replaced pixel is a uniform level.
  const torch::Tensor grey = torch::full({400, 10, 10}, 128, torch::kUInt8);
  Batcher batcher(grey, 400, Binarize::kNone, torch::kCPU);
  const torch::Tensor plain = batcher.batch(0);
  batcher.set_mutation_rate(0.2);
  torch::manual_seed(11);
  const torch::Tensor mutated = batcher.batch(0);
  const double n = 40000.0;
  // A replacement draws 128 again with probability 1/256.
  const double changed = (mutated != plain).sum().item<double>() / n;
  const double expected = 0.2 * 255.0 / 256.0;
  EXPECT_NEAR(changed, expected, 4.0 * std::sqrt(expected * (1 - expected) / n));
  // The replaced values are grey levels k / 255 with mean 1/2, sd 0.29.
  const torch::Tensor levels = mutated.masked_select(mutated != plain);
  EXPECT_TRUE(torch::allclose(levels * 255.0, (levels * 255.0).round(), 0.0, 1e-4));
  EXPECT_NEAR(levels.mean().item<double>(), 0.5, 4.0 * 0.29 / std::sqrt(levels.numel()));
  // The same generator state, the same draw (exact resume); rate 0 draws nothing.
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(batcher.batch(0), mutated));
  batcher.set_mutation_rate(0.0);
  EXPECT_TRUE(torch::equal(batcher.batch(0), plain));
  EXPECT_THROW(batcher.set_mutation_rate(1.5), Error);
}

TEST(Batcher, ParsesModeNames) {
  EXPECT_EQ(parse_binarize("dynamic"), Binarize::kDynamic);
  EXPECT_EQ(to_string(parse_binarize("static")), "static");
  EXPECT_THROW(parse_binarize("sometimes"), Error);
  EXPECT_THROW(Batcher(indexed_images(3), 0, Binarize::kNone, torch::kCPU), Error);
}

TEST(Batcher, ShardsOfABatchMakeTheBatch) {
  const torch::Tensor images = torch::randint(0, 256, {300, 4, 4}, torch::kUInt8);
  for (Binarize mode : {Binarize::kNone, Binarize::kDynamic}) {
    Batcher batcher(images, 128, mode, torch::kCPU);
    torch::manual_seed(3);
    batcher.shuffle();
    const int64_t last = batcher.num_batches() - 1;
    EXPECT_EQ(batcher.batch_rows(last), 44);
    at::Generator generator = at::globalContext().defaultGenerator(torch::kCPU);
    const torch::Tensor state = generator.get_state();
    const torch::Tensor whole = batcher.batch(last);
    // Each rank starts from the same generator state, as in training.
    generator.set_state(state);
    const torch::Tensor first = batcher.batch(last, 0, 22);
    generator.set_state(state);
    const torch::Tensor second = batcher.batch(last, 22, 22);
    EXPECT_TRUE(torch::cat({first, second}).equal(whole)) << to_string(mode);
    EXPECT_THROW(batcher.batch(last, 40, 5), Error);
  }
}
}  // namespace
}  // namespace vae

namespace vae {
namespace {

TEST(Batcher, CpuBatchesEqualTheGenericConversionBitForBit) {
  // The CPU path gathers and converts in one pass; it must give exactly what
  // index_select + to_model_input give (the path every other device takes).
  torch::manual_seed(4);
  const torch::Tensor images = torch::randint(0, 256, {300, 7, 5}, torch::kUInt8);
  Batcher batcher(images, 64, Binarize::kNone, torch::kCPU);
  batcher.shuffle();
  for (int64_t i = 0; i < batcher.num_batches(); ++i) {
    const torch::Tensor rows = batcher.order().narrow(0, i * 64, batcher.batch_rows(i));
    const torch::Tensor expected = to_model_input(images.index_select(0, rows), torch::kCPU);
    EXPECT_TRUE(torch::equal(batcher.batch(i), expected)) << "batch " << i;
  }
  // A shard of a batch is the same rows.
  EXPECT_TRUE(torch::equal(batcher.batch(2, 10, 5), batcher.batch(2).narrow(0, 10, 5)));
}

}  // namespace
}  // namespace vae
