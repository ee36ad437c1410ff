#include "vae/evaluation/calibration.h"

#include <torch/special.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "vae/runtime/error.h"

namespace vae {
namespace {

torch::Tensor uniform_like(const torch::Tensor& t, at::Generator& generator) {
  return torch::rand(t.sizes(), generator, torch::dtype(torch::kFloat64));
}

// Counts of u [S] in `bins` equal bins of (0, 1).
std::vector<int64_t> bin_counts(const torch::Tensor& u, int64_t bins) {
  const torch::Tensor index = (u.to(torch::kFloat64) * bins).floor().clamp(0, bins - 1);
  const torch::Tensor counts = torch::bincount(index.to(torch::kLong).flatten(), {}, bins);
  const auto a = counts.accessor<int64_t, 1>();
  std::vector<int64_t> out(static_cast<size_t>(bins));
  for (int64_t b = 0; b < bins; ++b)
    out[static_cast<size_t>(b)] = a[b];
  return out;
}

// The pointwise two-sided tail probability of count c under the CDF.
double two_sided_tail(const std::vector<double>& cdf, int64_t c) {
  const double below = cdf[static_cast<size_t>(c)];
  const double above = 1.0 - (c > 0 ? cdf[static_cast<size_t>(c - 1)] : 0.0);
  return std::min(1.0, 2.0 * std::min(below, above));
}

// #{u <= z_i} for sorted values and increasing points.
std::vector<int64_t> counts_below(const std::vector<double>& sorted, const std::vector<double>& z) {
  std::vector<int64_t> out;
  out.reserve(z.size());
  for (double point : z) {
    out.push_back(std::upper_bound(sorted.begin(), sorted.end(), point) - sorted.begin());
  }
  return out;
}

std::vector<double> sorted_values(const torch::Tensor& u) {
  const torch::Tensor s = std::get<0>(u.to(torch::kFloat64).flatten().sort()).contiguous();
  return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

CoverageCurve coverage_of(const torch::Tensor& distance, int64_t levels) {
  if (levels < 1) throw Error("coverage needs at least one level");
  const std::vector<double> sorted = sorted_values(distance);
  if (sorted.empty()) throw Error("coverage needs at least one simulation");
  CoverageCurve curve;
  double area = 0.0;
  for (int64_t j = 1; j <= levels; ++j) {
    const double alpha = static_cast<double>(j) / static_cast<double>(levels + 1);
    const double inside =
        static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), alpha) -
                            sorted.begin()) /
        static_cast<double>(sorted.size());
    curve.alpha.push_back(alpha);
    curve.coverage.push_back(inside);
    area += std::abs(inside - alpha);
  }
  curve.area = area / static_cast<double>(levels);
  return curve;
}

}  // namespace

torch::Tensor sbc_ranks(const torch::Tensor& truth, const torch::Tensor& draws,
                        at::Generator& generator) {
  if (truth.dim() != 2 || draws.dim() != 3 || draws.size(0) != truth.size(0) ||
      draws.size(2) != truth.size(1)) {
    throw Error("sbc_ranks: truth must be [S, D] and draws [S, L, D]");
  }
  const torch::Tensor t = truth.unsqueeze(1);
  const torch::Tensor less = (draws < t).sum(1);
  const torch::Tensor equal = (draws == t).sum(1);
  const torch::Tensor share =
      (uniform_like(equal, generator) * (equal + 1).to(torch::kFloat64)).floor();
  return less + share.to(torch::kLong);
}

torch::Tensor rank_pit(const torch::Tensor& ranks, int64_t draws, at::Generator& generator) {
  return (ranks.to(torch::kFloat64) + uniform_like(ranks, generator)) /
         static_cast<double>(draws + 1);
}

double chi_square_p_value(double chi2, int64_t degrees) {
  if (degrees < 1) throw Error("a chi-square test needs at least 1 degree of freedom");
  if (!(chi2 >= 0.0)) throw Error("a chi-square statistic must be >= 0");
  // The survival function of chi-square with k degrees of freedom is the
  // regularized upper incomplete gamma function Q(k / 2, chi2 / 2).
  const auto f64 = torch::dtype(torch::kFloat64);
  return torch::special::gammaincc(torch::tensor(0.5 * static_cast<double>(degrees), f64),
                                   torch::tensor(0.5 * chi2, f64))
      .item<double>();
}

std::vector<double> binomial_cdf(int64_t n, double p) {
  if (n < 0 || !(p >= 0.0 && p <= 1.0)) throw Error("binomial_cdf needs n >= 0 and p in [0, 1]");
  std::vector<double> cdf(static_cast<size_t>(n + 1));
  double total = 0.0;
  for (int64_t k = 0; k <= n; ++k) {
    double pmf;
    if (p == 0.0 || p == 1.0) {
      pmf = (k == (p == 0.0 ? 0 : n)) ? 1.0 : 0.0;
    } else {
      const double log_choose = std::lgamma(static_cast<double>(n) + 1.0) -
                                std::lgamma(static_cast<double>(k) + 1.0) -
                                std::lgamma(static_cast<double>(n - k) + 1.0);
      pmf = std::exp(log_choose + static_cast<double>(k) * std::log(p) +
                     static_cast<double>(n - k) * std::log1p(-p));
    }
    total += pmf;
    cdf[static_cast<size_t>(k)] = std::min(total, 1.0);
  }
  return cdf;
}

int64_t binomial_quantile(const std::vector<double>& cdf, double q) {
  // The CDF is summed in floating point: a quantile of q == CDF(c) must not
  // step past c by rounding.
  const auto at = std::lower_bound(cdf.begin(), cdf.end(), q - 1e-12);
  return std::min<int64_t>(at - cdf.begin(), static_cast<int64_t>(cdf.size()) - 1);
}

const NameTable<Verdict>& verdicts() {
  static const NameTable<Verdict> table(
      "verdict",
      {{Verdict::kOk, "ok", "ranks uniform"},
       {Verdict::kOverConfident, "over-confident", "U-shaped ranks: the posterior too narrow"},
       {Verdict::kUnderConfident, "under-confident",
        "ranks piled in the middle: the posterior too wide"},
       {Verdict::kBiased, "biased", "a slope: the posterior shifted"}});
  return table;
}

std::string to_string(Verdict verdict) {
  return verdicts().name(verdict);
}

int64_t histogram_bins(int64_t simulations) {
  return std::clamp<int64_t>(simulations / 5, 2, 20);
}

DimensionCalibration calibrate_dimension(const torch::Tensor& u, const std::string& name,
                                         const VerdictRule& rule) {
  const int64_t s = u.numel();
  if (s < 2) throw Error("calibration needs at least 2 simulations");
  if (rule.bins < 2) throw Error("calibration needs at least 2 bins");
  DimensionCalibration out;
  out.name = name;
  out.counts = bin_counts(u, rule.bins);
  const double expected = static_cast<double>(s) / static_cast<double>(rule.bins);
  for (int64_t c : out.counts)
    out.chi2 +=
        (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  out.p_value = chi_square_p_value(out.chi2, rule.bins - 1);
  const torch::Tensor v = u.to(torch::kFloat64).flatten();
  const double n = static_cast<double>(s);
  out.bias_z = (v.mean().item<double>() - 0.5) / std::sqrt(1.0 / (12.0 * n));
  out.spread_z = (v.var().item<double>() - 1.0 / 12.0) / std::sqrt(1.0 / (180.0 * n));
  const bool shaped =
      std::abs(out.bias_z) >= rule.z_limit || std::abs(out.spread_z) >= rule.z_limit;
  if (out.p_value >= rule.alpha && !shaped) {
    out.verdict = Verdict::kOk;
  } else if (std::abs(out.bias_z) >= std::abs(out.spread_z)) {
    out.verdict = Verdict::kBiased;
  } else {
    out.verdict = out.spread_z > 0.0 ? Verdict::kOverConfident : Verdict::kUnderConfident;
  }
  return out;
}

HistogramBand histogram_band(int64_t simulations, int64_t bins, double level) {
  const std::vector<double> cdf = binomial_cdf(simulations, 1.0 / static_cast<double>(bins));
  HistogramBand band;
  band.expected = static_cast<double>(simulations) / static_cast<double>(bins);
  band.lower = static_cast<double>(binomial_quantile(cdf, 0.5 * (1.0 - level)));
  band.upper = static_cast<double>(binomial_quantile(cdf, 0.5 * (1.0 + level)));
  return band;
}

EcdfBand ecdf_band(int64_t simulations, int64_t points, double level, int64_t trials,
                   at::Generator& generator) {
  if (simulations < 1 || points < 2 || trials < 1 || !(level > 0.0 && level < 1.0))
    throw Error("ecdf_band: needs simulations >= 1, points >= 2, trials >= 1, level in (0, 1)");
  EcdfBand band;
  std::vector<std::vector<double>> cdfs;
  for (int64_t i = 1; i < points; ++i) {
    band.z.push_back(static_cast<double>(i) / static_cast<double>(points));
    cdfs.push_back(binomial_cdf(simulations, band.z.back()));
  }
  // Each trial's smallest pointwise tail probability; the band's pointwise
  // level is their (1 - level) quantile.
  std::vector<double> smallest;
  smallest.reserve(static_cast<size_t>(trials));
  for (int64_t t = 0; t < trials; ++t) {
    const std::vector<double> sorted =
        sorted_values(torch::rand({simulations}, generator, torch::dtype(torch::kFloat64)));
    const std::vector<int64_t> counts = counts_below(sorted, band.z);
    double least = 1.0;
    for (size_t i = 0; i < counts.size(); ++i)
      least = std::min(least, two_sided_tail(cdfs[i], counts[i]));
    smallest.push_back(least);
  }
  std::sort(smallest.begin(), smallest.end());
  const auto at = static_cast<size_t>(std::floor((1.0 - level) * static_cast<double>(trials)));
  band.gamma = smallest[std::min(at, smallest.size() - 1)];
  const double n = static_cast<double>(simulations);
  for (size_t i = 0; i < band.z.size(); ++i) {
    band.lower.push_back(static_cast<double>(binomial_quantile(cdfs[i], 0.5 * band.gamma)) / n -
                         band.z[i]);
    band.upper.push_back(
        static_cast<double>(binomial_quantile(cdfs[i], 1.0 - 0.5 * band.gamma)) / n - band.z[i]);
  }
  return band;
}

std::vector<double> ecdf_difference(const torch::Tensor& u, const std::vector<double>& z) {
  const std::vector<double> sorted = sorted_values(u);
  if (sorted.empty()) throw Error("an ECDF needs at least one value");
  const std::vector<int64_t> counts = counts_below(sorted, z);
  std::vector<double> out;
  for (size_t i = 0; i < z.size(); ++i)
    out.push_back(static_cast<double>(counts[i]) / static_cast<double>(sorted.size()) - z[i]);
  return out;
}

bool inside_band(const std::vector<double>& difference, const EcdfBand& band) {
  if (difference.size() != band.z.size()) throw Error("inside_band: sizes differ");
  for (size_t i = 0; i < difference.size(); ++i) {
    // The band's ends are counts / S - z; compare with a rounding margin.
    if (difference[i] < band.lower[i] - 1e-12 || difference[i] > band.upper[i] + 1e-12)
      return false;
  }
  return true;
}

CoverageCurve central_coverage(const torch::Tensor& u, int64_t levels) {
  // The central alpha interval holds the truth when |2u - 1| <= alpha.
  return coverage_of((2.0 * u.to(torch::kFloat64) - 1.0).abs(), levels);
}

CoverageCurve region_coverage(const torch::Tensor& h, int64_t levels) {
  return coverage_of(h, levels);
}

torch::Tensor density_pit(const torch::Tensor& log_q_truth, const torch::Tensor& log_q_draws,
                          at::Generator& generator) {
  if (log_q_truth.dim() != 1 || log_q_draws.dim() != 2 ||
      log_q_draws.size(0) != log_q_truth.size(0)) {
    throw Error("density_pit: log q at the truth must be [S] and at the draws [S, L]");
  }
  const torch::Tensor t = log_q_truth.unsqueeze(1);
  const torch::Tensor above = (log_q_draws > t).sum(1).to(torch::kFloat64);
  const torch::Tensor ties = (log_q_draws == t).sum(1).to(torch::kFloat64);
  const double slots = static_cast<double>(log_q_draws.size(1) + 1);
  // The truth's place among the ties is uniform: a uniform share of them
  // and of its own slot.
  return (above + uniform_like(above, generator) * (ties + 1.0)) / slots;
}

Reliability reliability(const torch::Tensor& p, const torch::Tensor& y, int64_t bins) {
  if (p.numel() != y.numel() || p.numel() == 0) throw Error("reliability: p and y must match");
  if (bins < 1) throw Error("reliability needs at least one bin");
  const torch::Tensor pf = p.to(torch::kFloat64).flatten(), yf = y.to(torch::kFloat64).flatten();
  const torch::Tensor index = (pf * bins).floor().clamp(0, bins - 1).to(torch::kLong);
  const torch::Tensor counts = torch::bincount(index, {}, bins);
  const torch::Tensor p_sum = torch::bincount(index, pf, bins);
  const torch::Tensor y_sum = torch::bincount(index, yf, bins);
  Reliability out;
  const double total = static_cast<double>(pf.numel());
  for (int64_t b = 0; b < bins; ++b) {
    const int64_t n = counts[b].item<int64_t>();
    const double predicted = n ? p_sum[b].item<double>() / static_cast<double>(n) : 0.0;
    const double observed = n ? y_sum[b].item<double>() / static_cast<double>(n) : 0.0;
    out.counts.push_back(n);
    out.predicted.push_back(predicted);
    out.observed.push_back(observed);
    out.expected_calibration_error +=
        static_cast<double>(n) / total * std::abs(observed - predicted);
  }
  return out;
}

nlohmann::json to_json(const DimensionCalibration& d) {
  return {{"name", d.name},     {"verdict", to_string(d.verdict)},
          {"chi2", d.chi2},     {"p_value", d.p_value},
          {"bias_z", d.bias_z}, {"spread_z", d.spread_z},
          {"counts", d.counts}};
}

nlohmann::json to_json(const CoverageCurve& c) {
  return {{"alpha", c.alpha}, {"coverage", c.coverage}, {"area", c.area}};
}

nlohmann::json to_json(const Reliability& r) {
  return {{"predicted", r.predicted},
          {"observed", r.observed},
          {"counts", r.counts},
          {"expected_calibration_error", r.expected_calibration_error}};
}

}  // namespace vae
