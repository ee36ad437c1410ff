#include "vae/views/calibration_plots.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "vae/runtime/error.h"

namespace vae {
namespace {

const auto kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(0, 0, 0), kGrid(235, 235, 235), kBandFill(225, 225, 225), kAxis(80, 80, 80),
    kDiagonal(120, 120, 120);

// The verdicts' colours (BGR): ok blue, over-confident red, under-confident
// orange, biased purple (matplotlib's tab10).
cv::Scalar verdict_colour(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return {180, 119, 31};
    case Verdict::kOverConfident:
      return {40, 39, 214};
    case Verdict::kUnderConfident:
      return {14, 127, 255};
    case Verdict::kBiased:
      return {189, 103, 148};
  }
  return {127, 127, 127};
}

std::string number(const char* format, double v) {
  char text[48];
  std::snprintf(text, sizeof(text), format, v);
  return text;
}

// A plotting area inside an image: data coordinates to pixels, axes, ticks.
struct Frame {
  cv::Mat image;
  cv::Rect area;
  double x0, x1, y0, y1;

  Frame(int width, int height, cv::Rect plot_area, double xa, double xb, double ya, double yb)
      : image(height, width, CV_8UC3, cv::Scalar(255, 255, 255)),
        area(plot_area),
        x0(xa),
        x1(xb),
        y0(ya),
        y1(yb) {}

  cv::Point at(double x, double y) const {
    const double fx = (x - x0) / (x1 - x0), fy = (y - y0) / (y1 - y0);
    return {area.x + static_cast<int>(std::lround(fx * area.width)),
            area.y + area.height - static_cast<int>(std::lround(fy * area.height))};
  }
  // Grid lines and tick labels at `ticks` + 1 even steps, the frame, names.
  void axes(int ticks, const std::string& title, const std::string& x_name,
            const std::string& y_name) {
    for (int i = 0; i <= ticks; ++i) {
      const double fx = x0 + (x1 - x0) * i / ticks, fy = y0 + (y1 - y0) * i / ticks;
      const cv::Point px = at(fx, y0), py = at(x0, fy);
      cv::line(image, {px.x, area.y}, {px.x, area.y + area.height}, kGrid);
      cv::line(image, {area.x, py.y}, {area.x + area.width, py.y}, kGrid);
      cv::putText(image, number("%.3g", fx), {px.x - 12, area.y + area.height + 18}, kFont, 0.4,
                  kAxis, 1, cv::LINE_AA);
      cv::putText(image, number("%.3g", fy), {area.x - 52, py.y + 4}, kFont, 0.4, kAxis, 1,
                  cv::LINE_AA);
    }
    cv::rectangle(image, area, kAxis);
    cv::putText(image, x_name, {area.x + area.width / 2 - 40, area.y + area.height + 40}, kFont,
                0.5, kBlack, 1, cv::LINE_AA);
    cv::putText(image, y_name, {8, area.y - 6}, kFont, 0.5, kBlack, 1, cv::LINE_AA);
    cv::putText(image, title, {area.x, 17}, kFont, 0.55, kBlack, 1, cv::LINE_AA);
  }
  // The region between two curves over the same x, filled.
  void band(const std::vector<double>& x, const std::vector<double>& lower,
            const std::vector<double>& upper, const cv::Scalar& colour) {
    std::vector<cv::Point> polygon;
    for (size_t i = 0; i < x.size(); ++i)
      polygon.push_back(at(x[i], upper[i]));
    for (size_t i = x.size(); i-- > 0;)
      polygon.push_back(at(x[i], lower[i]));
    if (polygon.size() >= 3)
      cv::fillPoly(image, std::vector<std::vector<cv::Point>>{polygon}, colour, cv::LINE_AA);
  }
  void curve(const std::vector<double>& x, const std::vector<double>& y, const cv::Scalar& colour,
             int thickness) {
    std::vector<cv::Point> points;
    for (size_t i = 0; i < x.size(); ++i)
      points.push_back(at(x[i], y[i]));
    cv::polylines(image, points, false, colour, thickness, cv::LINE_AA);
  }
  void legend(int row, const std::string& text, const cv::Scalar& colour) {
    const int x = area.x + 12, y = area.y + 14 + 20 * row;
    cv::line(image, {x, y - 4}, {x + 24, y - 4}, colour, 2, cv::LINE_AA);
    cv::putText(image, text, {x + 32, y}, kFont, 0.45, kBlack, 1, cv::LINE_AA);
  }
};

}  // namespace

cv::Mat rank_histogram_grid(const std::vector<DimensionCalibration>& dimensions,
                            const HistogramBand& band, int columns) {
  if (dimensions.empty()) throw Error("rank histograms need at least one dimension");
  columns = std::max(1, std::min<int>(columns, static_cast<int>(dimensions.size())));
  const int rows = (static_cast<int>(dimensions.size()) + columns - 1) / columns;
  constexpr int kPanelW = 150, kPanelH = 96, kTitle = 16, kPad = 6;
  cv::Mat grid(rows * (kPanelH + kTitle + kPad) + kPad, columns * (kPanelW + kPad) + kPad, CV_8UC3,
               cv::Scalar(255, 255, 255));
  double top = band.upper;
  for (const DimensionCalibration& d : dimensions) {
    for (int64_t c : d.counts)
      top = std::max(top, static_cast<double>(c));
  }
  top *= 1.05;
  for (size_t k = 0; k < dimensions.size(); ++k) {
    const DimensionCalibration& d = dimensions[k];
    const int col = static_cast<int>(k) % columns, row = static_cast<int>(k) / columns;
    const cv::Rect area(kPad + col * (kPanelW + kPad),
                        kPad + row * (kPanelH + kTitle + kPad) + kTitle, kPanelW, kPanelH);
    const auto y_of = [&](double count) {
      return area.y + area.height - static_cast<int>(std::lround(count / top * area.height));
    };
    cv::rectangle(grid,
                  cv::Rect(area.x, y_of(band.upper), area.width,
                           std::max(1, y_of(band.lower) - y_of(band.upper))),
                  kBandFill, cv::FILLED);
    const int bins = static_cast<int>(d.counts.size());
    const cv::Scalar colour = verdict_colour(d.verdict);
    for (int b = 0; b < bins; ++b) {
      const int xa = area.x + b * area.width / bins, xb = area.x + (b + 1) * area.width / bins;
      cv::rectangle(grid, cv::Point(xa + 1, y_of(static_cast<double>(d.counts[b]))),
                    cv::Point(xb - 1, area.y + area.height), colour, cv::FILLED);
    }
    cv::line(grid, {area.x, y_of(band.expected)}, {area.x + area.width, y_of(band.expected)},
             kBlack, 1, cv::LINE_AA);
    cv::rectangle(grid, area, kAxis);
    cv::putText(grid, d.name + " " + to_string(d.verdict), {area.x, area.y - 4}, kFont, 0.38,
                d.verdict == Verdict::kOk ? kBlack : colour, 1, cv::LINE_AA);
  }
  return grid;
}

cv::Mat ecdf_difference_plot(const std::vector<std::vector<double>>& differences,
                             const std::vector<Verdict>& verdicts, const EcdfBand& band) {
  if (differences.size() != verdicts.size()) throw Error("ecdf plot: one verdict per curve");
  double reach = 0.0;
  for (size_t i = 0; i < band.z.size(); ++i)
    reach = std::max({reach, -band.lower[i], band.upper[i]});
  for (const auto& curve : differences) {
    if (curve.size() != band.z.size()) throw Error("ecdf plot: curves and band differ in size");
    for (double v : curve)
      reach = std::max(reach, std::abs(v));
  }
  reach = std::max(reach * 1.1, 1e-3);
  Frame frame(800, 500, cv::Rect(70, 40, 700, 400), 0.0, 1.0, -reach, reach);
  frame.band(band.z, band.lower, band.upper, kBandFill);
  frame.axes(4, "ECDF difference of the rank PIT per dimension, 95% simultaneous band",
             "PIT u = rank / (L + 1)", "F(u) - u");
  cv::line(frame.image, frame.at(0.0, 0.0), frame.at(1.0, 0.0), kDiagonal, 1, cv::LINE_AA);
  // Calibrated dimensions first, so that the flagged ones are drawn on top.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t d = 0; d < differences.size(); ++d) {
      if ((verdicts[d] == Verdict::kOk) != (pass == 0)) continue;
      frame.curve(band.z, differences[d], verdict_colour(verdicts[d]), 1);
    }
  }
  for (int v = 0; v < 4; ++v) {
    const auto verdict = static_cast<Verdict>(v);
    frame.legend(v, to_string(verdict), verdict_colour(verdict));
  }
  return frame.image;
}

cv::Mat coverage_plot(const std::vector<std::pair<std::string, CoverageCurve>>& curves,
                      const EcdfBand& band) {
  Frame frame(640, 640, cv::Rect(70, 40, 540, 540), 0.0, 1.0, 0.0, 1.0);
  std::vector<double> lower, upper;
  for (size_t i = 0; i < band.z.size(); ++i) {
    lower.push_back(std::max(0.0, band.z[i] + band.lower[i]));
    upper.push_back(std::min(1.0, band.z[i] + band.upper[i]));
  }
  frame.band(band.z, lower, upper, kBandFill);
  frame.axes(4, "Expected coverage (95% simultaneous band)", "credibility level",
             "share of truths inside");
  cv::line(frame.image, frame.at(0.0, 0.0), frame.at(1.0, 1.0), kDiagonal, 1, cv::LINE_AA);
  const cv::Scalar colours[4] = {{180, 119, 31}, {40, 39, 214}, {44, 160, 44}, {14, 127, 255}};
  for (size_t c = 0; c < curves.size(); ++c) {
    const cv::Scalar colour = colours[c % 4];
    frame.curve(curves[c].second.alpha, curves[c].second.coverage, colour, 2);
    frame.legend(static_cast<int>(c),
                 curves[c].first + number("  (area %.4f)", curves[c].second.area), colour);
  }
  return frame.image;
}

cv::Mat reliability_plot(const Reliability& r, const std::string& title) {
  Frame frame(640, 640, cv::Rect(70, 40, 540, 540), 0.0, 1.0, 0.0, 1.0);
  frame.axes(4, title, "predicted probability", "observed frequency");
  cv::line(frame.image, frame.at(0.0, 0.0), frame.at(1.0, 1.0), kDiagonal, 1, cv::LINE_AA);
  int64_t most = 1;
  for (int64_t c : r.counts)
    most = std::max(most, c);
  std::vector<cv::Point> points;
  for (size_t b = 0; b < r.counts.size(); ++b) {
    if (r.counts[b] == 0) continue;
    points.push_back(frame.at(r.predicted[b], r.observed[b]));
    // Radius 3..12 by log count: the bins hold from a few to most pixels.
    const double share =
        std::log1p(static_cast<double>(r.counts[b])) / std::log1p(static_cast<double>(most));
    cv::circle(frame.image, points.back(), 3 + static_cast<int>(9.0 * share),
               cv::Scalar(180, 119, 31), cv::FILLED, cv::LINE_AA);
  }
  cv::polylines(frame.image, points, false, cv::Scalar(180, 119, 31), 1, cv::LINE_AA);
  cv::putText(frame.image, number("expected calibration error %.4f", r.expected_calibration_error),
              {frame.area.x + 12, frame.area.y + 20}, kFont, 0.5, kBlack, 1, cv::LINE_AA);
  return frame.image;
}

}  // namespace vae
