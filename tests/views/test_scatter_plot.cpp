#include "vae/views/scatter_plot.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {
namespace {

TEST(ScatterPlot, DrawsEachClassInItsColour) {
  // Class 1 (orange) in the lower left corner, class 2 (green) upper right.
  const torch::Tensor points = torch::tensor({{0.0f, 0.0f}, {10.0f, 10.0f}});
  const torch::Tensor labels = torch::tensor({1, 2});
  ScatterOptions options;
  options.size = 400;
  options.radius = 4;
  const cv::Mat plot = scatter_plot(points, labels, options);
  ASSERT_EQ(plot.rows, 400);
  ASSERT_EQ(plot.cols, 400);
  ASSERT_EQ(plot.type(), CV_8UC3);
  // Plot area: x from 70 to 290, y from 40 to 340; 5% margins on each side.
  const int x0 = 70 + static_cast<int>(0.05 / 1.1 * 220),
            y0 = 340 - static_cast<int>(0.05 / 1.1 * 300);
  const int x1 = 70 + static_cast<int>(1.05 / 1.1 * 220),
            y1 = 340 - static_cast<int>(1.05 / 1.1 * 300);
  EXPECT_EQ(plot.at<cv::Vec3b>(y0, x0), cv::Vec3b(14, 127, 255));     // tab10 orange, BGR
  EXPECT_EQ(plot.at<cv::Vec3b>(y1, x1), cv::Vec3b(44, 160, 44));      // tab10 green
  EXPECT_EQ(plot.at<cv::Vec3b>(150, 150), cv::Vec3b(255, 255, 255));  // empty, off the grid lines
}

TEST(ScatterPlot, RejectsMismatchedInputs) {
  EXPECT_THROW(scatter_plot(torch::zeros({3, 3}), torch::zeros({3})), Error);
  EXPECT_THROW(scatter_plot(torch::zeros({3, 2}), torch::zeros({2})), Error);
}

}  // namespace
}  // namespace vae
