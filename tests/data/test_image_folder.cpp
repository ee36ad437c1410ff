#include "vae/data/image_folder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "test_support.h"

namespace vae {
namespace {

namespace fs = std::filesystem;

void write_picture(const std::string& path, const cv::Mat& image) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, image)) << path;
}

// Class subfolders are the labels (sorted by name); colour pictures are
// stored as RGB planes, a grey picture among them as three equal planes.
TEST(ImageFolder, ClassSubfoldersGiveLabelsAndRgbPlanes) {
  testing::ScratchDir dir;
  // OpenCV writes BGR: (0, 0, 200) is red.
  write_picture(dir.file("pictures/dog/a.png"), cv::Mat(4, 6, CV_8UC3, cv::Scalar(0, 0, 200)));
  write_picture(dir.file("pictures/cat/b.png"), cv::Mat(4, 6, CV_8UC3, cv::Scalar(90, 0, 0)));
  write_picture(dir.file("pictures/dog/c.png"), cv::Mat(4, 6, CV_8UC1, cv::Scalar(77)));
  const FolderListing listing = list_image_folder(dir.file("pictures"));
  ASSERT_EQ(listing.classes, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(listing.files.size(), 3u);
  const FolderImages loaded = load_image_folder(listing, {});
  const torch::Tensor& x = loaded.data.images;
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 3, 4, 6}));
  EXPECT_TRUE(torch::equal(loaded.data.labels, torch::tensor({0, 1, 1}, torch::kUInt8)));
  // cat/b.png (blue), dog/a.png (red), dog/c.png (grey).
  EXPECT_TRUE(torch::equal(x[0][2], torch::full({4, 6}, 90, torch::kUInt8)));
  EXPECT_EQ(x[0][0].sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(x[1][0], torch::full({4, 6}, 200, torch::kUInt8)));
  EXPECT_EQ(x[1][2].sum().item<int64_t>(), 0);
  for (int64_t c = 0; c < 3; ++c)
    EXPECT_TRUE(torch::equal(x[2][c], torch::full({4, 6}, 77, torch::kUInt8)));
  // --color grey converts (OpenCV's weights: 0.299 R).
  ImageFolderOptions grey;
  grey.color = ColorMode::kGrey;
  const torch::Tensor g = load_image_folder(listing, grey).data.images;
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{3, 1, 4, 6}));
  EXPECT_NEAR(g[1][0][0][0].item<double>(), 0.299 * 200, 1.0);
}

TEST(ImageFolder, FlatGreyFolderHasOneChannelAndNoClasses) {
  testing::ScratchDir dir;
  write_picture(dir.file("b.png"), cv::Mat(5, 5, CV_8UC1, cv::Scalar(3)));
  write_picture(dir.file("a.bmp"), cv::Mat(5, 5, CV_8UC1, cv::Scalar(250)));
  write_bytes(dir.file("notes.txt"), "not a picture");
  const FolderListing listing = list_image_folder(dir.path());
  EXPECT_TRUE(listing.classes.empty());
  const FolderImages loaded = load_image_folder(listing, {});
  ASSERT_EQ(loaded.data.images.sizes(), (std::vector<int64_t>{2, 1, 5, 5}));
  EXPECT_EQ(loaded.data.images[0][0][0][0].item<int>(), 250);  // a.bmp sorts first
  EXPECT_EQ(loaded.data.labels.sum().item<int64_t>(), 0);
  EXPECT_TRUE(holds_pictures(dir.path()));
}

// --image-size with --crop cuts the middle of the scaled picture; without,
// the picture is squashed (area interpolation averages the columns).
TEST(ImageFolder, ImageSizeCropsOrSquashes) {
  testing::ScratchDir dir;
  cv::Mat ramp(4, 8, CV_8UC1);
  for (int col = 0; col < 8; ++col)
    ramp.col(col).setTo(cv::Scalar(col * 10));
  write_picture(dir.file("ramp.png"), ramp);
  const FolderListing listing = list_image_folder(dir.path());
  ImageFolderOptions options;
  options.height = options.width = 4;
  options.crop = true;
  EXPECT_TRUE(torch::equal(load_image_folder(listing, options).data.images[0][0][0],
                           torch::tensor({20, 30, 40, 50}, torch::kUInt8)));
  options.crop = false;
  EXPECT_TRUE(torch::equal(load_image_folder(listing, options).data.images[0][0][0],
                           torch::tensor({5, 25, 45, 65}, torch::kUInt8)));
}

// 16-bit pictures of counts keep their values; 16-bit grey levels become
// 8-bit ones.
TEST(ImageFolder, SixteenBitCountsKeepTheirValues) {
  testing::ScratchDir dir;
  cv::Mat counts(2, 3, CV_16UC1);
  for (int i = 0; i < 6; ++i)
    counts.at<uint16_t>(i / 3, i % 3) = static_cast<uint16_t>(i * 3);  // 0..15
  write_picture(dir.file("counts/a.png"), counts);
  const torch::Tensor c = load_image_folder(list_image_folder(dir.file("counts")), {}).data.images;
  EXPECT_TRUE(torch::equal(c.flatten(), torch::arange(0, 18, 3).to(torch::kUInt8)));
  write_picture(dir.file("levels/a.png"), cv::Mat(2, 2, CV_16UC1, cv::Scalar(65535)));
  const torch::Tensor l = load_image_folder(list_image_folder(dir.file("levels")), {}).data.images;
  EXPECT_EQ(l.min().item<int>(), 255);
}

TEST(ImageFolder, BadFoldersAndPicturesGetOneLineNamingThem) {
  testing::ScratchDir dir;
  fs::create_directories(dir.file("empty"));
  EXPECT_NE(
      testing::error_of([&] { list_image_folder(dir.file("empty")); }).find("holds no pictures"),
      std::string::npos);
  EXPECT_NE(
      testing::error_of([&] { list_image_folder(dir.file("missing")); }).find("no such folder"),
      std::string::npos);

  write_picture(dir.file("some/a.png"), cv::Mat(3, 3, CV_8UC1, cv::Scalar(1)));
  write_bytes(dir.file("some/zero.png"), "");
  const FolderListing listing = list_image_folder(dir.file("some"));
  const std::string message = testing::error_of([&] { load_image_folder(listing, {}); });
  EXPECT_NE(message.find("zero.png (an empty file)"), std::string::npos) << message;
  EXPECT_NE(message.find("--skip-bad"), std::string::npos) << message;
  ImageFolderOptions skip;
  skip.skip_bad = true;
  const FolderImages kept = load_image_folder(listing, skip);
  EXPECT_EQ(kept.skipped, 1);
  EXPECT_EQ(kept.data.size(), 1);

  write_picture(dir.file("mixed/a.png"), cv::Mat(3, 3, CV_8UC1, cv::Scalar(1)));
  write_picture(dir.file("mixed/b.png"), cv::Mat(4, 3, CV_8UC1, cv::Scalar(1)));
  const std::string mixed =
      testing::error_of([&] { load_image_folder(list_image_folder(dir.file("mixed")), {}); });
  EXPECT_NE(mixed.find("pictures of different sizes"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("--image-size"), std::string::npos) << mixed;
  ImageFolderOptions sized;
  sized.height = sized.width = 3;
  EXPECT_EQ(load_image_folder(list_image_folder(dir.file("mixed")), sized).data.size(), 2);
}

// The fingerprint changes with a file's contents (size, time) and names.
TEST(ImageFolder, FingerprintFollowsTheFiles) {
  testing::ScratchDir dir;
  write_picture(dir.file("a.png"), cv::Mat(3, 3, CV_8UC1, cv::Scalar(1)));
  const std::string before = list_image_folder(dir.path()).fingerprint();
  EXPECT_EQ(list_image_folder(dir.path()).fingerprint(), before);
  cv::Mat noise(30, 30, CV_8UC1);
  cv::randu(noise, 0, 255);
  write_picture(dir.file("a.png"), noise);
  EXPECT_NE(list_image_folder(dir.path()).fingerprint(), before);
}

}  // namespace
}  // namespace vae
