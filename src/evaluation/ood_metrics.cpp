#include "vae/evaluation/ood_metrics.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "vae/runtime/error.h"

namespace vae {

Separation separation(const std::vector<double>& in_scores, const std::vector<double>& out_scores) {
  if (in_scores.empty() || out_scores.empty())
    throw Error("separation needs scores of both sets (in and out)");
  // (score, is_out), sorted from the most anomalous down.
  std::vector<std::pair<double, bool>> all;
  all.reserve(in_scores.size() + out_scores.size());
  for (double s : in_scores)
    all.emplace_back(s, false);
  for (double s : out_scores)
    all.emplace_back(s, true);
  for (const auto& [s, out] : all) {
    if (!std::isfinite(s)) throw Error("an anomaly score is not finite");
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  Separation r;
  r.in = static_cast<int64_t>(in_scores.size());
  r.out = static_cast<int64_t>(out_scores.size());
  const double n_in = static_cast<double>(r.in), n_out = static_cast<double>(r.out);
  // Walk the distinct scores from the top: each group of ties is one
  // threshold. in_above counts in scores strictly above the group.
  double in_above = 0.0, out_above = 0.0, pairs = 0.0, ap = 0.0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    double in_tied = 0.0, out_tied = 0.0;
    for (; j < all.size() && all[j].first == all[i].first; ++j)
      (all[j].second ? out_tied : in_tied) += 1.0;
    // Out scores of this group beat the in scores below it and tie with
    // those in it: counted from the in side, each in score of the group
    // loses to the out scores above and half of those tied.
    pairs += in_tied * (out_above + 0.5 * out_tied);
    in_above += in_tied;
    out_above += out_tied;
    if (out_tied > 0.0) ap += (out_tied / n_out) * (out_above / (out_above + in_above));
    i = j;
  }
  // pairs counts (out, in) pairs with out ranked above in from the in side.
  r.auroc = pairs / (n_in * n_out);
  r.aupr = ap;
  std::vector<double> out_sorted = out_scores;
  std::sort(out_sorted.begin(), out_sorted.end(), std::greater<>());
  const size_t needed = static_cast<size_t>(std::ceil(0.95 * n_out - 1e-9));
  const double threshold = out_sorted[std::max<size_t>(needed, 1) - 1];
  const auto flagged =
      std::count_if(in_scores.begin(), in_scores.end(), [&](double s) { return s >= threshold; });
  r.fpr_at_95_tpr = static_cast<double>(flagged) / n_in;
  return r;
}

}  // namespace vae
