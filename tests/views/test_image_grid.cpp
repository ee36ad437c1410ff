#include "vae/views/image_grid.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>

#include "test_support.h"

namespace vae {
namespace {

TEST(ImageGrid, PlacesImageKAtRowKDivColumnsAndColumnKModColumns) {
  // 5 images of 2x3 pixels; image k is filled with grey (k + 1) * 40 / 255.
  const int64_t n = 5;
  const torch::Tensor images = ((torch::arange(n).to(torch::kFloat32) + 1) * 40.0 / 255.0)
                                   .view({n, 1, 1, 1})
                                   .expand({n, 1, 2, 3});
  GridOptions options;
  options.columns = 3;
  options.padding = 1;
  options.scale = 2;
  options.background = 7;
  const cv::Mat grid = make_grid(images, options);
  // 2 rows of (2*2 + 1) + 1, 3 columns of (3*2 + 1) + 1.
  ASSERT_EQ(grid.rows, 2 * 5 + 1);
  ASSERT_EQ(grid.cols, 3 * 7 + 1);
  ASSERT_EQ(grid.type(), CV_8UC1);
  for (int64_t k = 0; k < n; ++k) {
    const int y = 1 + static_cast<int>(k / 3) * 5, x = 1 + static_cast<int>(k % 3) * 7;
    for (int dy = 0; dy < 4; ++dy) {
      for (int dx = 0; dx < 6; ++dx) {
        EXPECT_EQ(grid.at<uint8_t>(y + dy, x + dx), (k + 1) * 40) << "image " << k;
      }
    }
  }
  EXPECT_EQ(grid.at<uint8_t>(0, 0), 7);   // padding
  EXPECT_EQ(grid.at<uint8_t>(6, 15), 7);  // the empty sixth cell
}

TEST(ImageGrid, StretchDrawsThe99thPercentileWhite) {
  // Counts 0, 4, 8, 16 as the data hold them (k / 255), five rows each of
  // a 20x20 picture: near black as they are; stretched, 0, 64, 128, 255.
  const torch::Tensor counts =
      torch::tensor({0.0f, 4.0f, 8.0f, 16.0f}).repeat_interleave(100).view({1, 1, 20, 20});
  GridOptions options;
  options.columns = 1;
  options.padding = 0;
  options.scale = 1;
  const cv::Mat plain = make_grid(counts / 255.0, options);
  EXPECT_EQ(plain.at<uint8_t>(19, 19), 16);
  options.stretch = true;
  const cv::Mat stretched = make_grid(counts / 255.0, options);
  EXPECT_EQ(stretched.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(stretched.at<uint8_t>(7, 3), 64);
  EXPECT_EQ(stretched.at<uint8_t>(12, 0), 128);
  EXPECT_EQ(stretched.at<uint8_t>(19, 19), 255);
  // One outlying count (100) saturates instead of darkening the rest: the
  // 16s stay white (by the maximum they would be 41).
  torch::Tensor outlier = counts.clone();
  outlier.view({-1})[0] = 100.0f;
  const cv::Mat robust = make_grid(outlier / 255.0, options);
  EXPECT_EQ(robust.at<uint8_t>(0, 0), 255);
  EXPECT_EQ(robust.at<uint8_t>(19, 19), 255);
  EXPECT_EQ(robust.at<uint8_t>(12, 0), 128);
  // An all-zero picture stays black (no division by zero).
  const cv::Mat black = make_grid(torch::zeros({1, 1, 2, 2}), options);
  EXPECT_EQ(cv::countNonZero(black), 0);
}

// The stretch's 99th percentile is torch::quantile's, byte for byte, on
// pictures small enough for quantile (counts k / 255 put many pixels on the
// .5 boundaries where a last-bit difference would change the rounding).
TEST(ImageGrid, StretchAgreesWithTorchQuantileByteForByte) {
  torch::manual_seed(3);
  GridOptions options;
  options.padding = 0;
  options.scale = 1;
  options.stretch = true;
  for (const int64_t n : {1, 2, 3, 7, 100, 1001}) {
    for (const double rate : {0.3, 4.0, 40.0}) {
      const torch::Tensor counts = torch::poisson(torch::full({n, 1, 9, 11}, rate)) / 255.0;
      options.columns = n;
      const cv::Mat grid = make_grid(counts, options);
      const torch::Tensor scale = counts.flatten().quantile(0.99).clamp_min(1.0 / 255.0);
      // [9, n * 11]: the tiles side by side, as the grid holds them.
      const torch::Tensor expected = (counts / scale)
                                         .clamp(0.0, 1.0)
                                         .mul(255.0)
                                         .round()
                                         .to(torch::kUInt8)
                                         .view({n, 9, 11})
                                         .permute({1, 0, 2})
                                         .reshape({9, n * 11})
                                         .contiguous();
      ASSERT_EQ(grid.rows, 9);
      ASSERT_EQ(grid.cols, n * 11);
      const torch::Tensor drawn = torch::from_blob(grid.data, {9, n * 11}, torch::kUInt8).clone();
      EXPECT_TRUE(drawn.equal(expected)) << n << " tiles at rate " << rate;
    }
  }
}

// quantile refuses more than 2^24 values; a picture of 21,400 28x28 tiles
// has more, and is stretched all the same.
TEST(ImageGrid, StretchesPicturesOfMoreThan2To24Values) {
  const int64_t side = 4097;  // 4097^2 > 2^24
  // 2 % of the pixels are 0.5 (the top 1 % lies in them), one is 1.0, one
  // 0.25, the rest 0: the 99th percentile is 0.5.
  torch::Tensor values = torch::zeros({side * side});
  values.index_put_({torch::indexing::Slice(0, side * side / 50)}, 0.5);
  values[side * side - 1] = 1.0;
  values[side * side - 2] = 0.25;
  values = values.view({1, side, side});
  GridOptions options;
  options.columns = 1;
  options.padding = 0;
  options.scale = 1;
  options.stretch = true;
  const cv::Mat grid = make_grid(values, options);
  ASSERT_EQ(grid.rows, side);
  EXPECT_EQ(grid.at<uint8_t>(0, 0), 255);                // 0.5: white
  EXPECT_EQ(grid.at<uint8_t>(side - 1, side - 1), 255);  // 1.0: saturated
  EXPECT_EQ(grid.at<uint8_t>(side - 1, side - 2), 128);  // 0.25: half
  EXPECT_EQ(grid.at<uint8_t>(side / 2, 0), 0);
}

TEST(ImageGrid, ClampsAndWritesA8BitPng) {
  testing::ScratchDir dir;
  const torch::Tensor images = torch::tensor({-1.0f, 0.5f, 2.0f, 1.0f}).view({1, 1, 2, 2});
  GridOptions options;
  options.columns = 1;
  options.padding = 0;
  options.scale = 1;
  const cv::Mat grid = make_grid(images, options);
  EXPECT_EQ(grid.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(grid.at<uint8_t>(0, 1), 128);
  EXPECT_EQ(grid.at<uint8_t>(1, 0), 255);
  write_png(dir.file("g.png"), grid);
  const cv::Mat back = cv::imread(dir.file("g.png"), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.type(), CV_8UC1);
  EXPECT_EQ(cv::countNonZero(back != grid), 0);
}

// Three planes are RGB: the grid is a colour picture in OpenCV's BGR order.
TEST(ImageGrid, ColourImagesGiveAColourGrid) {
  // One 1x2 picture: a red pixel, then a blue one.
  const torch::Tensor images =
      torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f}).view({1, 3, 1, 2});
  GridOptions options;
  options.padding = 0;
  options.scale = 1;
  const cv::Mat grid = make_grid(images, options);
  ASSERT_EQ(grid.type(), CV_8UC3);
  EXPECT_EQ(grid.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(grid.at<cv::Vec3b>(0, 1), cv::Vec3b(255, 0, 0));
}

}  // namespace
}  // namespace vae
