// A labelled scatter plot drawn with OpenCV: points coloured by class, axes
// with tick values, and a legend.
#pragma once

#include <torch/types.h>
#include <opencv2/core.hpp>

#include <string>

namespace vae {

struct ScatterOptions {
  int size = 800;  // the plot is size x size pixels (BGR)
  std::string title;
  std::string x_name = "x";
  std::string y_name = "y";
  int radius = 2;
};

// points: [N, 2]; labels: [N] integers 0..9 (other values drawn grey).
cv::Mat scatter_plot(const torch::Tensor& points, const torch::Tensor& labels,
                     const ScatterOptions& options = {});

}  // namespace vae
