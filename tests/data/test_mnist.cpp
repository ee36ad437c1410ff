#include "vae/data/mnist.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using testing::idx_bytes;
using testing::ScratchDir;
using testing::write_bytes;

std::string error_of(const std::string& dir, Split split) {
  return testing::error_of([&] { load_mnist(dir, split); });
}

TEST(Mnist, LoadsRealTrainAndTestSets) {
  const ImageDataset train = load_mnist(testing::mnist_dir(), Split::kTrain);
  EXPECT_EQ(train.images.sizes(), (torch::IntArrayRef{60000, 28, 28}));
  EXPECT_EQ(train.labels.sizes(), (torch::IntArrayRef{60000}));
  EXPECT_EQ(train.labels[0].item<int>(), 5);  // the first training digit is a 5
  // Mean grey level of MNIST: 0.1307 * 255 = 33.3.
  EXPECT_NEAR(train.images.to(torch::kDouble).mean().item<double>(), 33.32, 0.05);
  const ImageDataset test = load_mnist(testing::mnist_dir(), Split::kTest);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.height(), 28);
}

TEST(Mnist, LoadsFashionMnistWithTheSameLoader) {
  // Debian's dataset-fashion-mnist, installed by scripts/setup.sh.
  const ImageDataset test = load_mnist("/usr/share/datasets/fashion-mnist", Split::kTest);
  EXPECT_EQ(test.images.sizes(), (torch::IntArrayRef{10000, 28, 28}));
  EXPECT_EQ(test.labels[0].item<int>(), 9);  // ankle boot
}

TEST(Mnist, ReadsUncompressedFiles) {
  ScratchDir dir;
  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_bytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_bytes({2}, {3, 4}));
  const ImageDataset data = load_mnist(dir.path(), Split::kTest);
  EXPECT_EQ(data.size(), 2);
  EXPECT_EQ(data.labels[1].item<int>(), 4);
}

TEST(Mnist, RejectsCountMismatch) {
  ScratchDir dir;
  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_bytes({2, 1, 1}, {1, 2}));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_bytes({3}, {1, 2, 3}));
  const std::string what = error_of(dir.path(), Split::kTest);
  EXPECT_NE(what.find("holds 2 images but"), std::string::npos) << what;
  EXPECT_NE(what.find("holds 3 labels"), std::string::npos) << what;
}

TEST(Mnist, RejectsWrongDimensions) {
  ScratchDir dir;
  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_bytes({2, 2}, {1, 2, 3, 4}));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_bytes({2}, {1, 2}));
  EXPECT_NE(error_of(dir.path(), Split::kTest).find("expected 3 dimensions"), std::string::npos);

  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_bytes({2, 1, 1}, {1, 2}));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_bytes({2, 1}, {1, 2}));
  EXPECT_NE(error_of(dir.path(), Split::kTest).find("expected 1 dimension"), std::string::npos);
}

TEST(Mnist, NamesTheMissingFile) {
  ScratchDir dir;
  const std::string what = error_of(dir.path(), Split::kTrain);
  EXPECT_NE(what.find("missing data file " + dir.path() + "/train-images-idx3-ubyte.gz"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("scripts/get_mnist.sh"), std::string::npos) << what;
}

TEST(Mnist, ResolvesDataDirectoryFlagThenEnvironmentThenDefault) {
  const char* saved = std::getenv("MNIST_DIR");
  const std::string saved_value = saved ? saved : "";
  ::setenv("MNIST_DIR", "/from/env", 1);
  EXPECT_EQ(resolve_data_dir("/from/flag"), "/from/flag");
  EXPECT_EQ(resolve_data_dir(""), "/from/env");
  ::unsetenv("MNIST_DIR");
  EXPECT_EQ(resolve_data_dir(""), "data/mnist");
  if (saved) ::setenv("MNIST_DIR", saved_value.c_str(), 1);
}

TEST(Mnist, TakesPrefixSubsets) {
  const ImageDataset full{torch::arange(24, torch::kUInt8).view({6, 2, 2}),
                          torch::arange(6, torch::kUInt8)};
  EXPECT_EQ(take_first(full, 4).size(), 4);
  EXPECT_EQ(take_first(full, 4).labels[3].item<int>(), 3);
  EXPECT_EQ(take_first(full, 0).size(), 6);
  EXPECT_EQ(take_first(full, 100).size(), 6);
}

}  // namespace
}  // namespace vae
