#include "vae/views/ood_plots.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "vae/runtime/error.h"

namespace vae {
namespace {

// The share of `scores` in each of `bins` bins over [lo, hi].
std::vector<double> densities(const std::vector<double>& scores, double lo, double hi, int bins) {
  std::vector<double> share(static_cast<size_t>(bins), 0.0);
  for (double s : scores) {
    const int b = std::clamp(static_cast<int>((s - lo) / (hi - lo) * bins), 0, bins - 1);
    share[static_cast<size_t>(b)] += 1.0 / static_cast<double>(scores.size());
  }
  return share;
}

}  // namespace

cv::Mat score_histograms(const std::string& method, const std::vector<double>& in,
                         const std::vector<double>& out, const Separation& separation, int bins) {
  if (in.empty() || out.empty() || bins < 1) throw Error("histograms need scores of both sets");
  const auto [in_lo, in_hi] = std::minmax_element(in.begin(), in.end());
  const auto [out_lo, out_hi] = std::minmax_element(out.begin(), out.end());
  const double lo = std::min(*in_lo, *out_lo);
  const double hi = std::max({*in_hi, *out_hi, lo + 1e-9});
  const std::vector<double> a = densities(in, lo, hi, bins), b = densities(out, lo, hi, bins);
  const double top =
      std::max(*std::max_element(a.begin(), a.end()), *std::max_element(b.begin(), b.end())) * 1.08;
  constexpr int kW = 640, kH = 360, kLeft = 20, kRight = 20, kTop = 50, kBottom = 40;
  cv::Mat image(kH, kW, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Rect area(kLeft, kTop, kW - kLeft - kRight, kH - kTop - kBottom);
  // BGR: matplotlib's tab10 blue (in) and orange (out), blended where both.
  const cv::Scalar kIn(180, 119, 31), kOut(14, 127, 255), kAxis(80, 80, 80);
  // Each set's bars on a copy, blended in: in first, out over it.
  const auto draw_bars = [&](const std::vector<double>& shares, const cv::Scalar& colour,
                             double alpha, double beta) {
    cv::Mat layer = image.clone();
    for (int k = 0; k < bins; ++k) {
      const int x0 = area.x + area.width * k / bins, x1 = area.x + area.width * (k + 1) / bins;
      const int h =
          static_cast<int>(std::lround(shares[static_cast<size_t>(k)] / top * area.height));
      if (h > 0) {
        cv::rectangle(layer, cv::Rect(x0, area.y + area.height - h, std::max(1, x1 - x0), h),
                      colour, cv::FILLED);
      }
    }
    cv::addWeighted(layer, alpha, image, beta, 0.0, image);
  };
  draw_bars(a, kIn, 0.6, 0.4);
  draw_bars(b, kOut, 0.55, 0.45);
  cv::rectangle(image, area, kAxis);
  char text[160];
  std::snprintf(text, sizeof(text), "%s: AUROC %.3f  AUPR %.3f  FPR@95%%TPR %.3f", method.c_str(),
                separation.auroc, separation.aupr, separation.fpr_at_95_tpr);
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  cv::putText(image, text, {kLeft, 20}, font, 0.55, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  std::snprintf(text, sizeof(text), "in (%lld)", static_cast<long long>(in.size()));
  cv::putText(image, text, {kLeft, 42}, font, 0.45, kIn, 1, cv::LINE_AA);
  std::snprintf(text, sizeof(text), "out (%lld)", static_cast<long long>(out.size()));
  cv::putText(image, text, {kLeft + 110, 42}, font, 0.45, kOut, 1, cv::LINE_AA);
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    std::snprintf(text, sizeof(text), "%.4g", v);
    const int x = area.x + area.width * i / 4;
    cv::line(image, {x, area.y + area.height}, {x, area.y + area.height + 4}, kAxis);
    cv::putText(image, text, {std::min(x - 14, kW - 60), area.y + area.height + 18}, font, 0.4,
                kAxis, 1, cv::LINE_AA);
  }
  cv::putText(image, "score (higher = more anomalous)", {area.x + area.width / 2 - 110, kH - 6},
              font, 0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  return image;
}

}  // namespace vae
