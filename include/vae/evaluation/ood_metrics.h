// How well an anomaly score separates the inputs a model was trained for
// ("in") from others ("out"): the out set is the positive class and a higher
// score means more anomalous, as in Hendrycks & Gimpel (2017).
#pragma once

#include <cstdint>
#include <vector>

namespace vae {

struct Separation {
  int64_t in = 0, out = 0;  // scores in each set
  // P(score_out > score_in) + P(tie) / 2 over all pairs: the area under the
  // ROC curve (Mann-Whitney U / (n_in n_out)).
  double auroc = 0.0;
  // Average precision with out as positive (sum over thresholds of the
  // recall gained times the precision there; tied scores are one threshold).
  double aupr = 0.0;
  // The share of in scores at or above the highest threshold that still
  // flags 95 % of the out scores.
  double fpr_at_95_tpr = 0.0;
};

// Throws vae::Error when either set is empty or a score is not finite.
Separation separation(const std::vector<double>& in_scores, const std::vector<double>& out_scores);

}  // namespace vae
