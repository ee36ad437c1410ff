#include "vae/data/image_cache.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace vae {
namespace {

TEST(ImageCache, ReturnsTheSetsOnlyForTheirKeyAndAnUndamagedFile) {
  testing::ScratchDir dir;
  const std::string path = dir.file("c.cache");
  EXPECT_FALSE(read_image_cache(path, "k").has_value());  // missing
  const std::vector<ImageDataset> sets = {
      {torch::randint(0, 256, {5, 3, 4, 4}).to(torch::kUInt8), torch::arange(5).to(torch::kUInt8)},
      {torch::randint(0, 256, {2, 3, 4, 4}).to(torch::kUInt8), torch::zeros({2}, torch::kUInt8)}};
  write_image_cache(path, "key one", sets);
  const auto back = read_image_cache(path, "key one");
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(torch::equal((*back)[i].images, sets[i].images));
    EXPECT_TRUE(torch::equal((*back)[i].labels, sets[i].labels));
  }
  EXPECT_FALSE(read_image_cache(path, "key two").has_value());
  // One flipped byte anywhere: not used (the checksum), never a crash.
  std::string bytes = testing::read_bytes(path);
  for (size_t at : {size_t{10}, bytes.size() / 2, bytes.size() - 3}) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    testing::write_bytes(path, damaged);
    EXPECT_FALSE(read_image_cache(path, "key one").has_value()) << "byte " << at;
  }
  testing::write_bytes(path, "");
  EXPECT_FALSE(read_image_cache(path, "key one").has_value());
}

}  // namespace
}  // namespace vae
