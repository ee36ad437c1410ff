// Is a posterior right? The statistics of simulation-based calibration
// (Talts et al. 2018) and of coverage, for any simulator and any inference:
// given the true parameters of S simulations and L posterior draws for each,
// the rank of the truth among the draws is uniform on {0, .., L} exactly
// when the inference is calibrated. Dividing by L + 1 after adding a
// uniform share of one rank gives the randomized PIT u, uniform on (0, 1):
// its histogram is ∪-shaped when the posterior is too narrow
// (over-confident), ∩-shaped when too wide, and slopes when it is biased.
// The model side (simulating from a VAE) is model_calibration.h.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "vae/runtime/name_table.h"

namespace vae {

// ranks[s, d] = #{l : draws[s, l, d] < truth[s, d]} plus a uniform share of
// the draws equal to it (ties: discrete values), in 0..L. truth [S, D],
// draws [S, L, D] (any float dtype) -> int64 [S, D].
torch::Tensor sbc_ranks(const torch::Tensor& truth, const torch::Tensor& draws,
                        at::Generator& generator);

// The randomized PIT u = (rank + U(0, 1)) / (L + 1) of ranks in 0..L
// (int64, any shape) -> float64 of the same shape, in (0, 1).
torch::Tensor rank_pit(const torch::Tensor& ranks, int64_t draws, at::Generator& generator);

// The chi-square survival function: P(X >= chi2) for X ~ chi^2_k.
double chi_square_p_value(double chi2, int64_t degrees);

// The binomial distribution Bin(n, p): its CDF at 0..n [n + 1], and the
// smallest count c with CDF(c) >= q.
std::vector<double> binomial_cdf(int64_t n, double p);
int64_t binomial_quantile(const std::vector<double>& cdf, double q);

enum class Verdict { kOk, kOverConfident, kUnderConfident, kBiased };
const NameTable<Verdict>& verdicts();
std::string to_string(Verdict verdict);

// The calibration of one dimension from its PITs u [S]:
//   chi2 over `bins` equal bins of u (expected S / bins each), its p-value
//   on bins - 1 degrees of freedom;
//   bias_z = (mean u - 1/2) / sqrt(1 / (12 S)), the slope's z-score;
//   spread_z = (var u - 1/12) / sqrt(1 / (180 S)), > 0 for a ∪ shape (the
//   truth in the draws' tails: over-confident), < 0 for ∩ (Var u = 1/12 and
//   Var (u - 1/2)^2 = 1/180 for the uniform).
// The verdict is ok while p >= alpha and both |z| < z_limit; otherwise the
// larger |z| names it: biased, or over-/under-confident by the sign of
// spread_z.
struct DimensionCalibration {
  std::string name;
  std::vector<int64_t> counts;  // [bins]: how many u fell in each bin
  double chi2 = 0.0, p_value = 1.0, bias_z = 0.0, spread_z = 0.0;
  Verdict verdict = Verdict::kOk;
};
struct VerdictRule {
  int64_t bins = 20;
  double alpha = 0.01;    // the chi-square test's level
  double z_limit = 3.29;  // two-sided 0.001 for the shape's z-scores
};
DimensionCalibration calibrate_dimension(const torch::Tensor& u, const std::string& name,
                                         const VerdictRule& rule = {});
// The bins a histogram of S values gets: 20, fewer so that each expects at
// least 5, at least 2.
int64_t histogram_bins(int64_t simulations);

// Bands for the histogram and ECDF of S uniform values.
//   Histogram: each bin's count is Bin(S, 1 / bins); the central `level`
//   interval of it [lower, upper].
//   ECDF (Säilynoja et al. 2022, sec. 2.2): at the points z_i = i / K,
//   i = 1..K-1, S F(z_i) is Bin(S, z_i); the pointwise level gamma is
//   chosen so that `level` of simulated uniform samples stay inside every
//   pointwise interval at once (a simultaneous band), by `trials` samples
//   from `generator`. lower/upper: the band of F(z_i) - z_i.
struct HistogramBand {
  double expected = 0.0, lower = 0.0, upper = 0.0;
};
HistogramBand histogram_band(int64_t simulations, int64_t bins, double level = 0.99);
struct EcdfBand {
  std::vector<double> z, lower, upper;  // [K - 1] each
  double gamma = 0.0;                   // the pointwise level that gives the simultaneous one
};
EcdfBand ecdf_band(int64_t simulations, int64_t points, double level, int64_t trials,
                   at::Generator& generator);
// F(z_i) - z_i of the values u [S] at the band's points [K - 1].
std::vector<double> ecdf_difference(const torch::Tensor& u, const std::vector<double>& z);
// True when the ECDF difference lies inside the band at every point.
bool inside_band(const std::vector<double>& difference, const EcdfBand& band);

// Expected coverage: at credibility level alpha, the share of simulations
// whose truth lies in the posterior's alpha region. With the PIT u of the
// truth in each dimension, the central interval holds it when
// |u - 1/2| <= alpha / 2; with the highest-density PIT h (the share of the
// draws whose log q exceeds the truth's, randomized like u), the joint
// alpha region holds it when h <= alpha. Calibrated: coverage(alpha) =
// alpha, and both |2u - 1| and h are uniform, so the ECDF band above is
// the curve's band too.
struct CoverageCurve {
  std::vector<double> alpha, coverage;  // [levels]
  double area =
      0.0;  // mean |coverage - alpha| over the levels: the area between curve and diagonal
};
// u [S, D] (every dimension's central intervals, averaged) or h [S].
CoverageCurve central_coverage(const torch::Tensor& u, int64_t levels = 99);
CoverageCurve region_coverage(const torch::Tensor& h, int64_t levels = 99);
// The highest-density PIT from log q at the truth [S] and at the draws
// [S, L]: (#{l : log_q_draws > log_q_truth} + a uniform share of ties and
// one) / (L + 1).
torch::Tensor density_pit(const torch::Tensor& log_q_truth, const torch::Tensor& log_q_draws,
                          at::Generator& generator);

// A reliability diagram of predicted probabilities p [n] of binary
// outcomes y [n] (0/1): per bin of p, the mean prediction, the observed
// frequency and the count; the expected calibration error
// sum_b n_b / n |freq_b - mean_b|.
struct Reliability {
  std::vector<double> predicted, observed;
  std::vector<int64_t> counts;
  double expected_calibration_error = 0.0;
};
Reliability reliability(const torch::Tensor& p, const torch::Tensor& y, int64_t bins = 10);

nlohmann::json to_json(const DimensionCalibration& d);
nlohmann::json to_json(const CoverageCurve& c);
nlohmann::json to_json(const Reliability& r);

}  // namespace vae
