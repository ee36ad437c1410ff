// The picture of one anomaly score in `vae ood`: the in and out sets'
// histograms overlaid, with the separation numbers in the title.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "vae/evaluation/ood_metrics.h"

namespace vae {

// Both sets' scores in `bins` shared bins over their common range, each
// normalised to a density (in: blue, out: orange, overlap: both), the
// method's name, AUROC, AUPR and FPR at 95 % TPR above.
cv::Mat score_histograms(const std::string& method, const std::vector<double>& in,
                         const std::vector<double>& out, const Separation& separation,
                         int bins = 60);

}  // namespace vae
