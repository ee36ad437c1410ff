#include "vae/data/data_source.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "test_support.h"

namespace vae {
namespace {

namespace fs = std::filesystem;

// n grey 2x2 pictures, picture i filled with the value i (its identity), in
// two class subfolders.
void write_numbered(const std::string& dir, int n) {
  for (int i = 0; i < n; ++i) {
    const fs::path path =
        fs::path(dir) / (i % 2 ? "odd" : "even") / (std::to_string(100 + i) + ".png");
    fs::create_directories(path.parent_path());
    ASSERT_TRUE(cv::imwrite(path.string(), cv::Mat(2, 2, CV_8UC1, cv::Scalar(i))));
  }
}

std::set<int> values(const ImageDataset& set) {
  std::set<int> out;
  for (int64_t i = 0; i < set.size(); ++i)
    out.insert(set.images[i][0][0][0].item<int>());
  return out;
}

// Without --test-dir the test set is a fixed share of the pictures, the
// same in every load; both sets are shuffled (the first N hold every class)
// and together are the folder.
TEST(DataSource, FolderSplitsOffAFixedTestShare) {
  testing::ScratchDir dir;
  write_numbered(dir.file("pics"), 40);
  DataSource source;
  source.dir = dir.file("pics");
  source.test_fraction = 0.25;
  const DataSets a = load_data_sets(source), b = load_data_sets(source);
  EXPECT_EQ(a.train.size(), 30);
  EXPECT_EQ(a.test.size(), 10);
  EXPECT_TRUE(torch::equal(a.test.images, b.test.images));
  std::set<int> all = values(a.train);
  for (int v : values(a.test))
    EXPECT_TRUE(all.insert(v).second) << "picture " << v << " in both sets";
  EXPECT_EQ(all.size(), 40u);
  // Labels follow their pictures (odd values in class "odd" = 1).
  for (int64_t i = 0; i < a.train.size(); ++i)
    EXPECT_EQ(a.train.labels[i].item<int>(), a.train.images[i][0][0][0].item<int>() % 2);
  // The first 10 training pictures are not one class.
  EXPECT_GT(a.train.labels.narrow(0, 0, 10).sum().item<int>(), 0);
  EXPECT_LT(a.train.labels.narrow(0, 0, 10).sum().item<int>(), 10);
  EXPECT_NE(a.description.find("pictures in 2 classes"), std::string::npos) << a.description;
}

TEST(DataSource, TestFolderMustMatchTheTrainingPictures) {
  testing::ScratchDir dir;
  write_numbered(dir.file("train"), 6);
  fs::create_directories(dir.file("test"));
  ASSERT_TRUE(cv::imwrite(dir.file("test/a.png"), cv::Mat(3, 3, CV_8UC1, cv::Scalar(1))));
  DataSource source;
  source.dir = dir.file("train");
  source.test_dir = dir.file("test");
  EXPECT_NE(testing::error_of([&] { load_data_sets(source); }).find("give --image-size"),
            std::string::npos);
  source.pictures.height = source.pictures.width = 2;
  const DataSets sets = load_data_sets(source);
  EXPECT_EQ(sets.train.size(), 6);
  EXPECT_EQ(sets.test.size(), 1);
}

TEST(DataSource, IdxFilesTakeColourButNotPictureOptions) {
  DataSource source;
  source.dir = testing::mnist_dir();
  source.pictures.color = ColorMode::kRgb;
  const DataSets sets = load_data_sets(source);
  ASSERT_EQ(sets.test.images.sizes(), (std::vector<int64_t>{10000, 3, 28, 28}));
  EXPECT_TRUE(torch::equal(sets.test.images.select(1, 0), sets.test.images.select(1, 2)));
  EXPECT_TRUE(
      torch::equal(sets.test.images.select(1, 1), load_mnist(source.dir, Split::kTest).images));
  source.pictures.height = source.pictures.width = 32;
  EXPECT_NE(testing::error_of([&] {
              load_data_sets(source);
            }).find("--image-size applies to folders of pictures"),
            std::string::npos);
}

// --cache: the second load reads the file; a changed folder or a damaged
// file is decoded anew (and the cache rewritten).
TEST(DataSource, CacheServesAnUnchangedFolder) {
  testing::ScratchDir dir;
  write_numbered(dir.file("pics"), 10);
  DataSource source;
  source.dir = dir.file("pics");
  source.cache = dir.file("pics.cache");
  const DataSets first = load_data_sets(source);
  EXPECT_NE(first.description.find("decoded in"), std::string::npos) << first.description;
  ASSERT_TRUE(fs::exists(source.cache));
  const DataSets second = load_data_sets(source);
  EXPECT_NE(second.description.find("read from the cache"), std::string::npos);
  EXPECT_TRUE(torch::equal(first.train.images, second.train.images));
  EXPECT_TRUE(torch::equal(first.test.labels, second.test.labels));
  // Other options, other pixels: not from the cache.
  DataSource bigger = source;
  bigger.pictures.height = bigger.pictures.width = 4;
  EXPECT_NE(load_data_sets(bigger).description.find("decoded in"), std::string::npos);
  EXPECT_NE(load_data_sets(bigger).description.find("read from the cache"), std::string::npos);
  // A new picture in the folder.
  ASSERT_TRUE(cv::imwrite(dir.file("pics/odd/999.png"), cv::Mat(2, 2, CV_8UC1, cv::Scalar(99))));
  const DataSets changed = load_data_sets(source);
  EXPECT_NE(changed.description.find("decoded in"), std::string::npos);
  EXPECT_EQ(changed.train.size() + changed.test.size(), 11);
  // A damaged cache (cut short).
  std::string bytes = testing::read_bytes(source.cache);
  testing::write_bytes(source.cache, bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(load_data_sets(source).description.find("decoded in"), std::string::npos);
  EXPECT_NE(load_data_sets(source).description.find("read from the cache"), std::string::npos);
}

}  // namespace
}  // namespace vae
