// The pictures of `vae calibrate`, drawn with OpenCV (BGR): the rank
// histograms with their binomial band, the ECDF differences with their
// simultaneous band, the coverage curves against the diagonal, and the
// reliability diagram. What they show: evaluation/calibration.h.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <utility>
#include <vector>

#include "vae/evaluation/calibration.h"

namespace vae {

// One panel per dimension, `columns` to a row: the PIT's bin counts as bars
// coloured by verdict, the expected count as a line and the band of
// `band` (99 % binomial) shaded; the panel's title "name verdict".
cv::Mat rank_histogram_grid(const std::vector<DimensionCalibration>& dimensions,
                            const HistogramBand& band, int columns = 10);

// F(z) - z of every dimension's PIT, one line each coloured by verdict,
// over the simultaneous band shaded grey.
cv::Mat ecdf_difference_plot(const std::vector<std::vector<double>>& differences,
                             const std::vector<Verdict>& verdicts, const EcdfBand& band);

// Coverage against credibility level: the diagonal, the band of an ECDF of
// S uniform values around it (calibration.h), and each named curve with its
// area in the legend.
cv::Mat coverage_plot(const std::vector<std::pair<std::string, CoverageCurve>>& curves,
                      const EcdfBand& band);

// Observed frequency against predicted probability per bin, each bin's
// point sized by its count, the diagonal, and the expected calibration error.
cv::Mat reliability_plot(const Reliability& reliability, const std::string& title);

}  // namespace vae
