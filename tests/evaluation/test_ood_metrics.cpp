#include "vae/evaluation/ood_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "vae/runtime/error.h"

namespace vae {
namespace {

// P(out > in) + P(tie) / 2 by counting every pair.
double pair_count_auroc(const std::vector<double>& in, const std::vector<double>& out) {
  double wins = 0.0;
  for (double o : out) {
    for (double i : in)
      wins += o > i ? 1.0 : (o == i ? 0.5 : 0.0);
  }
  return wins / static_cast<double>(in.size() * out.size());
}

// Average precision by its definition: at every distinct threshold t, the
// recall gained there times the precision of "score >= t".
double brute_force_aupr(const std::vector<double>& in, const std::vector<double>& out) {
  std::set<double, std::greater<>> thresholds(out.begin(), out.end());
  thresholds.insert(in.begin(), in.end());
  double ap = 0.0, recall_before = 0.0;
  for (double t : thresholds) {
    const double tp = static_cast<double>(
        std::count_if(out.begin(), out.end(), [&](double s) { return s >= t; }));
    const double fp =
        static_cast<double>(std::count_if(in.begin(), in.end(), [&](double s) { return s >= t; }));
    const double recall = tp / static_cast<double>(out.size());
    if (tp > 0) ap += (recall - recall_before) * tp / (tp + fp);
    recall_before = recall;
  }
  return ap;
}

// The lowest FPR over thresholds whose TPR is at least 95 %.
double brute_force_fpr95(const std::vector<double>& in, const std::vector<double>& out) {
  double best = 1.0;
  std::vector<double> thresholds = out;
  thresholds.insert(thresholds.end(), in.begin(), in.end());
  for (double t : thresholds) {
    const double tpr = static_cast<double>(std::count_if(out.begin(), out.end(),
                                                         [&](double s) { return s >= t; })) /
                       static_cast<double>(out.size());
    const double fpr =
        static_cast<double>(std::count_if(in.begin(), in.end(), [&](double s) { return s >= t; })) /
        static_cast<double>(in.size());
    if (tpr >= 0.95) best = std::min(best, fpr);
  }
  return best;
}

TEST(OodMetrics, EqualBruteForceCountsWithTies) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    // Small integer scores: many ties within and across the sets.
    std::uniform_int_distribution<int> in_dist(0, 12), out_dist(trial % 5, 14);
    std::vector<double> in(37 + trial), out(23 + 2 * trial);
    for (double& s : in)
      s = in_dist(rng);
    for (double& s : out)
      s = out_dist(rng);
    const Separation r = separation(in, out);
    EXPECT_NEAR(r.auroc, pair_count_auroc(in, out), 1e-12) << "trial " << trial;
    EXPECT_NEAR(r.aupr, brute_force_aupr(in, out), 1e-12) << "trial " << trial;
    EXPECT_NEAR(r.fpr_at_95_tpr, brute_force_fpr95(in, out), 1e-12) << "trial " << trial;
    EXPECT_EQ(r.in, static_cast<int64_t>(in.size()));
    EXPECT_EQ(r.out, static_cast<int64_t>(out.size()));
  }
}

TEST(OodMetrics, PerfectReversedAndTiedScores) {
  const Separation perfect = separation({1, 2, 3}, {4, 5});
  EXPECT_DOUBLE_EQ(perfect.auroc, 1.0);
  EXPECT_DOUBLE_EQ(perfect.aupr, 1.0);
  EXPECT_DOUBLE_EQ(perfect.fpr_at_95_tpr, 0.0);
  const Separation reversed = separation({4, 5}, {1, 2, 3});
  EXPECT_DOUBLE_EQ(reversed.auroc, 0.0);
  EXPECT_DOUBLE_EQ(reversed.fpr_at_95_tpr, 1.0);
  // One score for everything: a coin, and precision the share of out.
  const Separation tied = separation({3, 3, 3}, {3});
  EXPECT_DOUBLE_EQ(tied.auroc, 0.5);
  EXPECT_DOUBLE_EQ(tied.aupr, 0.25);
  EXPECT_THROW(separation({}, {1.0}), Error);
  EXPECT_THROW(separation({1.0, std::nan("")}, {1.0}), Error);
}

}  // namespace
}  // namespace vae
