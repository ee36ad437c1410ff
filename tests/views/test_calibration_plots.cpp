#include "vae/views/calibration_plots.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {
namespace {

DimensionCalibration panel(const std::string& name, Verdict verdict, std::vector<int64_t> counts) {
  DimensionCalibration d;
  d.name = name;
  d.verdict = verdict;
  d.counts = std::move(counts);
  return d;
}

// Panels are 150 x 96 pixels under a 16-pixel title, 6 apart: panel k's
// plot area starts at x = 6 + (k % columns) * 156, y = 6 + row * 118 + 16.
TEST(CalibrationPlots, RankHistogramPanelsInTheirVerdictsColours) {
  const std::vector<DimensionCalibration> dims = {panel("z0", Verdict::kOk, {10, 10}),
                                                  panel("z1", Verdict::kOverConfident, {20, 0}),
                                                  panel("z2", Verdict::kBiased, {5, 15})};
  HistogramBand band;
  band.expected = 10;
  band.lower = 4;
  band.upper = 16;
  const cv::Mat grid = rank_histogram_grid(dims, band, 2);
  ASSERT_EQ(grid.type(), CV_8UC3);
  EXPECT_EQ(grid.cols, 2 * 156 + 6);
  EXPECT_EQ(grid.rows, 2 * 118 + 6);
  // Bottom of each panel's first bar: ok blue, over-confident red; the
  // biased panel's second bar purple.
  const int bottom = 6 + 16 + 96 - 3;
  EXPECT_EQ(grid.at<cv::Vec3b>(bottom, 6 + 20), cv::Vec3b(180, 119, 31));
  EXPECT_EQ(grid.at<cv::Vec3b>(bottom, 6 + 156 + 20), cv::Vec3b(40, 39, 214));
  EXPECT_EQ(grid.at<cv::Vec3b>(bottom + 118, 6 + 75 + 20), cv::Vec3b(189, 103, 148));
  // The over-confident panel's empty second bin shows the band (light grey).
  EXPECT_EQ(grid.at<cv::Vec3b>(6 + 16 + 30, 6 + 156 + 75 + 20), cv::Vec3b(225, 225, 225));
  EXPECT_THROW(rank_histogram_grid({}, band), Error);
}

TEST(CalibrationPlots, EcdfCoverageAndReliabilityPlots) {
  auto generator = at::detail::createCPUGenerator(1);
  const EcdfBand band = ecdf_band(100, 20, 0.95, 200, generator);
  const torch::Tensor u = torch::rand({100}, generator, torch::kFloat64);
  const std::vector<std::vector<double>> curves = {ecdf_difference(u, band.z)};
  const cv::Mat ecdf = ecdf_difference_plot(curves, {Verdict::kOk}, band);
  EXPECT_EQ(ecdf.cols, 800);
  EXPECT_EQ(ecdf.rows, 500);
  // At z = 0.5, F - z = 0 lies inside the band: its pixel is not white.
  const int x = 70 + 350, y = 40 + 200;
  EXPECT_NE(ecdf.at<cv::Vec3b>(y, x + 3), cv::Vec3b(255, 255, 255));
  EXPECT_THROW(ecdf_difference_plot(curves, {}, band), Error);

  const cv::Mat coverage = coverage_plot({{"per unit", central_coverage(u.view({100, 1}))}}, band);
  EXPECT_EQ(coverage.cols, 640);
  Reliability r;
  r.predicted = {0.1, 0.9};
  r.observed = {0.1, 0.8};
  r.counts = {100, 10};
  const cv::Mat diagram = reliability_plot(r, "test");
  // The point of bin 1 at (0.1, 0.1), filled blue.
  const int px = 70 + static_cast<int>(0.1 * 540), py = 40 + 540 - static_cast<int>(0.1 * 540);
  EXPECT_EQ(diagram.at<cv::Vec3b>(py, px), cv::Vec3b(180, 119, 31));
}

}  // namespace
}  // namespace vae
