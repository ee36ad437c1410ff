#include "vae/views/scatter_plot.h"

#include <torch/torch.h>

#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "vae/runtime/error.h"

namespace vae {
namespace {

// matplotlib's "tab10" palette, as BGR.
const cv::Scalar kPalette[10] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                                 {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                 {34, 189, 188},  {207, 190, 23}};

std::string tick_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

}  // namespace

cv::Mat scatter_plot(const torch::Tensor& points_in, const torch::Tensor& labels_in,
                     const ScatterOptions& options) {
  if (points_in.dim() != 2 || points_in.size(1) != 2 || labels_in.size(0) != points_in.size(0)) {
    throw Error("scatter: expected points [N, 2] and labels [N]");
  }
  const torch::Tensor points = points_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const torch::Tensor labels = labels_in.to(torch::kCPU, torch::kLong).contiguous();
  const int size = std::max(options.size, 300);
  const int left = 70, right = 110, top = 40, bottom = 60;
  cv::Mat plot(size, size, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Rect area(left, top, size - left - right, size - top - bottom);

  // Axis ranges with a 5% margin.
  double lo[2], hi[2];
  for (int a = 0; a < 2; ++a) {
    lo[a] = points.select(1, a).min().item<double>();
    hi[a] = points.select(1, a).max().item<double>();
    const double pad = std::max(1e-6, 0.05 * (hi[a] - lo[a]));
    lo[a] -= pad;
    hi[a] += pad;
  }
  const auto to_pixel = [&](double x, double y) {
    return cv::Point(
        area.x + static_cast<int>((x - lo[0]) / (hi[0] - lo[0]) * area.width),
        area.y + area.height - static_cast<int>((y - lo[1]) / (hi[1] - lo[1]) * area.height));
  };

  // Grid, ticks and tick labels.
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  for (int i = 0; i <= 4; ++i) {
    const double fx = lo[0] + (hi[0] - lo[0]) * i / 4.0, fy = lo[1] + (hi[1] - lo[1]) * i / 4.0;
    const cv::Point px = to_pixel(fx, lo[1]), py = to_pixel(lo[0], fy);
    cv::line(plot, {px.x, area.y}, {px.x, area.y + area.height}, cv::Scalar(235, 235, 235));
    cv::line(plot, {area.x, py.y}, {area.x + area.width, py.y}, cv::Scalar(235, 235, 235));
    cv::putText(plot, tick_text(fx), {px.x - 18, area.y + area.height + 20}, font, 0.4,
                cv::Scalar(60, 60, 60), 1, cv::LINE_AA);
    cv::putText(plot, tick_text(fy), {4, py.y + 4}, font, 0.4, cv::Scalar(60, 60, 60), 1,
                cv::LINE_AA);
  }
  cv::rectangle(plot, area, cv::Scalar(80, 80, 80));

  const auto* p = points.data_ptr<double>();
  const auto* l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < points.size(0); ++i) {
    const cv::Scalar colour = l[i] >= 0 && l[i] < 10 ? kPalette[l[i]] : cv::Scalar(160, 160, 160);
    cv::circle(plot, to_pixel(p[2 * i], p[2 * i + 1]), options.radius, colour, cv::FILLED,
               cv::LINE_AA);
  }

  // Axis names, title, legend.
  cv::putText(plot, options.x_name, {area.x + area.width / 2 - 20, size - 15}, font, 0.6,
              cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(plot, options.y_name, {4, top - 12}, font, 0.6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(plot, options.title, {area.x + 60, top - 14}, font, 0.6, cv::Scalar(0, 0, 0), 1,
              cv::LINE_AA);
  const int legend_x = area.x + area.width + 20;
  for (int c = 0; c < 10; ++c) {
    const int y = area.y + 10 + c * 24;
    cv::rectangle(plot, cv::Rect(legend_x, y, 14, 14), kPalette[c], cv::FILLED);
    cv::putText(plot, std::to_string(c), {legend_x + 22, y + 12}, font, 0.5, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
  }
  return plot;
}

}  // namespace vae
