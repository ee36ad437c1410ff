#include "vae/views/image_grid.h"

#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "vae/runtime/atomic_file.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// The 99th percentile of the values as torch::quantile(0.99) gives it (the
// order statistics at the floor and ceiling of the rank 0.99 (n - 1),
// interpolated linearly), without its limit of 2^24 values: a picture of
// 21,400 28x28 tiles has more. topk selects the top 1 % instead of sorting
// all of them.
torch::Tensor percentile99(const torch::Tensor& values) {
  const int64_t n = values.numel();
  // quantile computes the rank in the values' float32, exact up to 2^24;
  // the same arithmetic keeps the pictures it drew byte for byte.
  const double rank = n - 1 <= (int64_t{1} << 24)
                          ? static_cast<double>(0.99f * static_cast<float>(n - 1))
                          : 0.99 * static_cast<double>(n - 1);
  const auto below = static_cast<int64_t>(rank);
  const auto above = static_cast<int64_t>(std::ceil(rank));
  // The n - below largest values, descending: order statistic i (from 0,
  // ascending) is at n - 1 - i.
  const torch::Tensor top = std::get<0>(values.reshape({-1}).topk(n - below));
  const torch::Tensor weight =
      torch::scalar_tensor(rank - static_cast<double>(below), top.options());
  return top[n - 1 - below].lerp(top[n - 1 - above], weight);
}

}  // namespace

cv::Mat make_grid(const torch::Tensor& images, const GridOptions& options) {
  // Three planes are a colour picture (RGB); anything else is grey.
  const bool colour = images.dim() == 4 && images.size(1) == 3;
  torch::Tensor pixels = images.detach().to(torch::kCPU, torch::kFloat32);
  // [N, H, W] grey, or [N, H, W, 3] in OpenCV's BGR order.
  pixels = colour ? pixels.flip({1}).permute({0, 2, 3, 1})
                  : pixels.reshape({images.size(0), -1, images.size(-1)});
  const int64_t n = pixels.size(0), h = pixels.size(1), w = pixels.size(2);
  const int type = colour ? CV_8UC3 : CV_8UC1;
  if (options.columns <= 0 || options.scale <= 0 || options.padding < 0) {
    throw Error("grid: columns and scale must be positive, padding >= 0");
  }
  const int64_t columns = std::max<int64_t>(1, std::min(options.columns, n));
  const int64_t rows = (n + columns - 1) / columns;
  const int64_t tile_h = h * options.scale, tile_w = w * options.scale;
  const int64_t margin = options.row_labels.empty() ? 0 : options.label_width;
  cv::Mat grid(static_cast<int>(rows * (tile_h + options.padding) + options.padding),
               static_cast<int>(margin + columns * (tile_w + options.padding) + options.padding),
               type, cv::Scalar::all(options.background));
  // The 99th percentile, not the maximum: one outlying count (a sample's
  // extreme rate) would otherwise darken every other tile.
  if (options.stretch && pixels.numel() > 0)
    pixels = pixels / percentile99(pixels).clamp_min(1.0 / 255.0);
  const torch::Tensor bytes =
      pixels.clamp(0.0, 1.0).mul(255.0).round().to(torch::kUInt8).contiguous();
  for (int64_t k = 0; k < n; ++k) {
    cv::Mat tile(static_cast<int>(h), static_cast<int>(w), type, bytes[k].data_ptr<uint8_t>());
    const int x =
        static_cast<int>(margin + options.padding + (k % columns) * (tile_w + options.padding));
    const int y = static_cast<int>(options.padding + (k / columns) * (tile_h + options.padding));
    cv::Mat target = grid(cv::Rect(x, y, static_cast<int>(tile_w), static_cast<int>(tile_h)));
    cv::resize(tile, target, target.size(), 0, 0, cv::INTER_NEAREST);
  }
  const double font_scale = std::clamp(static_cast<double>(tile_h) / 60.0, 0.35, 0.6);
  for (size_t r = 0; r < options.row_labels.size() && static_cast<int64_t>(r) < rows; ++r) {
    const int baseline = static_cast<int>(
        options.padding + static_cast<int64_t>(r) * (tile_h + options.padding) + tile_h / 2 + 5);
    cv::putText(grid, options.row_labels[r], cv::Point(4, baseline), cv::FONT_HERSHEY_SIMPLEX,
                font_scale, cv::Scalar::all(255), 1, cv::LINE_AA);
  }
  return grid;
}

cv::Mat stack_vertically(const std::vector<cv::Mat>& images, int gap, uint8_t background) {
  if (images.empty()) return {};
  int width = 0, height = 0;
  for (const cv::Mat& image : images) {
    width = std::max(width, image.cols);
    height += image.rows;
  }
  height += gap * static_cast<int>(images.size() - 1);
  cv::Mat out(height, width, images.front().type(), cv::Scalar::all(background));
  int y = 0;
  for (const cv::Mat& image : images) {
    image.copyTo(out(cv::Rect(0, y, image.cols, image.rows)));
    y += image.rows + gap;
  }
  return out;
}

void write_png(const std::string& path, const cv::Mat& image) {
  std::vector<uchar> buffer;
  if (!cv::imencode(".png", image, buffer)) throw Error("cannot encode PNG for " + path);
  write_file_atomically(path, std::string(buffer.begin(), buffer.end()));
}

}  // namespace vae
