// Tiles of images in a grid, written as 8-bit PNG with OpenCV.
#pragma once

#include <torch/types.h>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace vae {

struct GridOptions {
  int64_t columns = 8;  // images per row
  int64_t padding = 2;  // pixels between tiles (at output scale)
  int64_t scale = 3;    // each image pixel becomes scale x scale pixels
  uint8_t background = 64;
  // Draw the 99th percentile of the picture's values white (brighter ones
  // saturate): count data (k / 255 for small counts k, e.g. 0..16) would
  // otherwise be near black.
  bool stretch = false;
  // Optional text left of each row (e.g. "z3  KL 4.1"), in a margin of
  // label_width pixels.
  std::vector<std::string> row_labels;
  int64_t label_width = 120;
};

// images: float [N, 1, H, W] (or [N, H, W]) in [0, 1], any device, or
// [N, 3, H, W] RGB (with stretch: any non-negative scale). Image k lands in row k / columns, column
// k % columns. Returns a CV_8UC1 image (CV_8UC3, BGR, for colour) of rows*(H*scale+padding)+padding
// by columns*(W*scale+padding)+padding (plus label_width when there are row labels).
cv::Mat make_grid(const torch::Tensor& images, const GridOptions& options = {});

// Stacks images of equal type vertically (widths padded to the widest),
// `gap` pixels of `background` between them.
cv::Mat stack_vertically(const std::vector<cv::Mat>& images, int gap, uint8_t background);

// Encodes PNG in memory and writes it atomically. Throws vae::Error.
void write_png(const std::string& path, const cv::Mat& image);

}  // namespace vae
