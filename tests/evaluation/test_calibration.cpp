#include "vae/evaluation/calibration.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_support.h"

namespace vae {
namespace {

const auto kF64 = torch::dtype(torch::kFloat64);

// One SBC experiment's raw material: S truths [S, D], L draws [S, L, D] and
// log q at both ([S], [S, L]).
struct Experiment {
  torch::Tensor truth, draws, log_q_truth, log_q_draws;
};

// Probabilistic PCA (Tipping & Bishop 1999): z ~ N(0, I_2), x = W z + sigma e,
// x in R^5. Its posterior is exact: with M = W'W + sigma^2 I,
//   z | x ~ N(M^-1 W' x, sigma^2 M^-1).
// The draws come from that posterior with its spread scaled by `scale` and
// its mean moved by `shift` posterior standard deviations: (1, 0) is exact.
Experiment ppca(uint64_t seed, int64_t sims, int64_t draws, double scale, double shift) {
  auto generator = at::detail::createCPUGenerator(seed);
  const torch::Tensor w =
      torch::tensor({{1.0, 0.5}, {-0.3, 0.8}, {0.7, -0.2}, {0.1, 1.2}, {0.9, 0.4}}, kF64);
  const double sigma = 0.8;
  const torch::Tensor m = w.t().mm(w) + sigma * sigma * torch::eye(2, kF64);
  const torch::Tensor m_inv = torch::inverse(m);
  const torch::Tensor cov = sigma * sigma * m_inv;
  const torch::Tensor chol = torch::linalg_cholesky(cov);
  const torch::Tensor chol_inv = torch::inverse(chol);
  const torch::Tensor sd = cov.diagonal().sqrt();

  const torch::Tensor z = torch::randn({sims, 2}, generator, kF64);
  const torch::Tensor x = z.mm(w.t()) + sigma * torch::randn({sims, 5}, generator, kF64);
  const torch::Tensor mean = x.mm(w).mm(m_inv) + shift * sd;  // M symmetric
  const torch::Tensor eps = torch::randn({sims, draws, 2}, generator, kF64);
  Experiment e;
  e.truth = z;
  e.draws = mean.unsqueeze(1) + scale * eps.matmul(chol.t());
  // log q up to a constant (ranks ignore it): -|chol^-1 (z - mean)|^2 / (2 scale^2).
  const auto log_q = [&](const torch::Tensor& at, const torch::Tensor& centre) {
    const torch::Tensor y = (at - centre).matmul(chol_inv.t());
    return -0.5 * y.pow(2).sum(-1) / (scale * scale);
  };
  e.log_q_truth = log_q(z, mean);
  e.log_q_draws = log_q(e.draws, mean.unsqueeze(1));
  return e;
}

// The conjugate Poisson-Gamma model: lambda ~ Gamma(2, rate 1), ten counts
// x_j ~ Poisson(lambda); the posterior is Gamma(2 + sum x, rate 1 + 10).
// The draws use the rate times `rate_factor` (1: exact).
Experiment poisson_gamma(uint64_t seed, int64_t sims, int64_t draws, double rate_factor) {
  auto generator = at::detail::createCPUGenerator(seed);
  const double a = 2.0, b = 1.0;
  const int64_t m = 10;
  const torch::Tensor lambda = at::_standard_gamma(torch::full({sims}, a, kF64), generator) / b;
  const torch::Tensor x =
      at::poisson(lambda.unsqueeze(1).expand({sims, m}).contiguous(), generator);
  const torch::Tensor shape = a + x.sum(1),
                      rate = (b + m) * rate_factor * torch::ones({sims}, kF64);
  Experiment e;
  e.truth = lambda.unsqueeze(1);
  e.draws = (at::_standard_gamma(shape.unsqueeze(1).expand({sims, draws}).contiguous(), generator) /
             rate.unsqueeze(1))
                .unsqueeze(2);
  return e;
}

struct Checked {
  std::vector<DimensionCalibration> dims;
  torch::Tensor u;
};

Checked check(const Experiment& e, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed + 1000);
  const torch::Tensor ranks = sbc_ranks(e.truth, e.draws, generator);
  Checked c;
  c.u = rank_pit(ranks, e.draws.size(1), generator);
  VerdictRule rule;
  rule.bins = histogram_bins(e.truth.size(0));
  for (int64_t d = 0; d < c.u.size(1); ++d)
    c.dims.push_back(calibrate_dimension(c.u.select(1, d), "z" + std::to_string(d), rule));
  return c;
}

TEST(Calibration, RanksCountTheDrawsBelowAndShareTies) {
  auto generator = at::detail::createCPUGenerator(3);
  const torch::Tensor truth = torch::tensor({{0.5, 2.0}}, kF64);
  const torch::Tensor draws = torch::tensor({{{0.1, 3.0}, {0.7, 1.0}, {0.2, 2.5}}}, kF64);
  const torch::Tensor r = sbc_ranks(truth, draws, generator);
  EXPECT_EQ(r[0][0].item<int64_t>(), 2);
  EXPECT_EQ(r[0][1].item<int64_t>(), 1);
  // A discrete truth equal to every draw: its rank is uniform on 0..L.
  const int64_t s = 20000, l = 9;
  const torch::Tensor tied =
      sbc_ranks(torch::zeros({s, 1}, kF64), torch::zeros({s, l, 1}, kF64), generator);
  EXPECT_GE(tied.min().item<int64_t>(), 0);
  EXPECT_LE(tied.max().item<int64_t>(), l);
  const double var = ((l + 1.0) * (l + 1.0) - 1.0) / 12.0;  // of the uniform on 0..L
  EXPECT_NEAR(tied.to(torch::kFloat64).mean().item<double>(), l / 2.0, 4 * std::sqrt(var / s));
  // One draw below, two tied: rank 1, 2 or 3.
  const torch::Tensor partly =
      sbc_ranks(torch::ones({s, 1}, kF64),
                torch::tensor({1.0, 1.0, 0.0}, kF64).view({1, 3, 1}).expand({s, 3, 1}), generator);
  EXPECT_EQ(partly.min().item<int64_t>(), 1);
  EXPECT_EQ(partly.max().item<int64_t>(), 3);
  EXPECT_NEAR(partly.to(torch::kFloat64).mean().item<double>(), 2.0, 4 * std::sqrt(2.0 / 3 / s));
  EXPECT_NE(testing::error_of([&] { sbc_ranks(truth, torch::zeros({1, 3, 1}), generator); }), "");
}

TEST(Calibration, ChiSquarePValuesMatchClosedForms) {
  // Two degrees of freedom: P(X >= x) = exp(-x / 2); four: exp(-x/2)(1 + x/2).
  for (double x : {0.1, 1.0, 5.991464547, 20.0}) {
    EXPECT_NEAR(chi_square_p_value(x, 2), std::exp(-x / 2), 1e-12);
    EXPECT_NEAR(chi_square_p_value(x, 4), std::exp(-x / 2) * (1 + x / 2), 1e-12);
  }
  EXPECT_NEAR(chi_square_p_value(3.841458820694124, 1), 0.05, 1e-9);
  EXPECT_NEAR(chi_square_p_value(30.14352720564616, 19), 0.05, 1e-9);
  EXPECT_NE(testing::error_of([] { chi_square_p_value(1.0, 0); }), "");
}

TEST(Calibration, BinomialCdfAndQuantiles) {
  const std::vector<double> cdf = binomial_cdf(10, 0.3);
  ASSERT_EQ(cdf.size(), 11u);
  // sum_{k<=3} C(10,k) 0.3^k 0.7^(10-k)
  EXPECT_NEAR(cdf[3], 0.6496107184, 1e-9);
  EXPECT_NEAR(cdf[10], 1.0, 1e-12);
  EXPECT_EQ(binomial_quantile(cdf, 0.6496107184), 3);
  EXPECT_EQ(binomial_quantile(cdf, 0.65), 4);
  EXPECT_EQ(binomial_quantile(cdf, 0.0), 0);
  const HistogramBand band = histogram_band(500, 20, 0.99);
  EXPECT_DOUBLE_EQ(band.expected, 25.0);
  const std::vector<double> bins = binomial_cdf(500, 0.05);
  EXPECT_GE(bins[static_cast<size_t>(band.lower)], 0.005 - 1e-12);
  EXPECT_LT(bins[static_cast<size_t>(band.lower) - 1], 0.005);
  EXPECT_GE(bins[static_cast<size_t>(band.upper)], 0.995 - 1e-12);
  EXPECT_LT(bins[static_cast<size_t>(band.upper) - 1], 0.995);
}

TEST(Calibration, CoverageCountsTheIntervalsThatHoldTheTruth) {
  // |2u - 1| = 0, 0.9, 0.9, 0.4: the central 50 % interval holds two of four.
  const CoverageCurve c =
      central_coverage(torch::tensor({0.5, 0.05, 0.95, 0.3}, kF64).view({4, 1}), 1);
  ASSERT_EQ(c.alpha.size(), 1u);
  EXPECT_DOUBLE_EQ(c.alpha[0], 0.5);
  EXPECT_DOUBLE_EQ(c.coverage[0], 0.5);
  EXPECT_DOUBLE_EQ(c.area, 0.0);
  const CoverageCurve r = region_coverage(torch::tensor({0.1, 0.2, 0.6, 0.8}, kF64), 3);
  // alpha 0.25, 0.5, 0.75: 2, 2 and 3 of 4 at or below.
  EXPECT_DOUBLE_EQ(r.coverage[0], 0.5);
  EXPECT_DOUBLE_EQ(r.coverage[1], 0.5);
  EXPECT_DOUBLE_EQ(r.coverage[2], 0.75);
  EXPECT_NEAR(r.area, (0.25 + 0.0 + 0.0) / 3, 1e-12);
  // The highest-density PIT: two of four draws denser than the truth.
  auto generator = at::detail::createCPUGenerator(5);
  const torch::Tensor h = density_pit(torch::tensor({-1.0}, kF64),
                                      torch::tensor({{-0.5, -2.0, 0.0, -3.0}}, kF64), generator);
  EXPECT_GT(h.item<double>(), 2.0 / 5);
  EXPECT_LT(h.item<double>(), 3.0 / 5);
}

// The simultaneous band holds `level` of uniform samples' ECDFs whole: new
// uniform samples stay inside at that rate (within the two simulations'
// standard error), and a skewed sample leaves it.
TEST(Calibration, EcdfBandIsSimultaneous) {
  auto generator = at::detail::createCPUGenerator(11);
  const int64_t s = 200, band_trials = 1000, trials = 400;
  const double level = 0.95;
  const EcdfBand band = ecdf_band(s, 50, level, band_trials, generator);
  ASSERT_EQ(band.z.size(), 49u);
  EXPECT_LT(band.gamma, 0.05);  // stricter pointwise than the simultaneous level
  int inside = 0;
  for (int t = 0; t < trials; ++t) {
    const torch::Tensor u = torch::rand({s}, generator, kF64);
    inside += inside_band(ecdf_difference(u, band.z), band) ? 1 : 0;
  }
  const double share = static_cast<double>(inside) / trials;
  const double se = std::sqrt(level * (1 - level) * (1.0 / band_trials + 1.0 / trials));
  EXPECT_NEAR(share, level, 4 * se);
  const torch::Tensor skewed = torch::rand({s}, generator, kF64).pow(1.5);
  EXPECT_FALSE(inside_band(ecdf_difference(skewed, band.z), band));
}

// Acceptance: with the exact pPCA posterior the ranks are uniform (chi-square
// p > 0.01 and verdict ok in each dimension, five seeds of 500
// simulations), and the coverage curves lie in the 99 % simultaneous band
// (the pictures draw 95 %; at 99 % each of the 15 curves here has a 1 %
// chance of a false alarm, not 5 %).
TEST(CalibrationProof, ExactPpcaPosteriorIsCalibrated) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const Experiment e = ppca(seed, 500, 99, 1.0, 0.0);
    const Checked c = check(e, seed);
    for (const DimensionCalibration& d : c.dims) {
      EXPECT_GT(d.p_value, 0.01) << "seed " << seed << " " << d.name;
      EXPECT_EQ(d.verdict, Verdict::kOk) << "seed " << seed << " " << d.name;
    }
    auto generator = at::detail::createCPUGenerator(seed + 2000);
    const EcdfBand band = ecdf_band(500, 100, 0.99, 1000, generator);
    const torch::Tensor h = density_pit(e.log_q_truth, e.log_q_draws, generator);
    for (int64_t d = 0; d < 2; ++d) {
      const torch::Tensor distance = (2.0 * c.u.select(1, d) - 1.0).abs();
      EXPECT_TRUE(inside_band(ecdf_difference(distance, band.z), band)) << "seed " << seed;
    }
    EXPECT_TRUE(inside_band(ecdf_difference(h, band.z), band)) << "seed " << seed;
    EXPECT_LT(central_coverage(c.u).area, 0.03);
    EXPECT_LT(region_coverage(h).area, 0.03);
  }
}

TEST(CalibrationProof, MiscalibratedPpcaPosteriorsAreNamed) {
  struct Case {
    double scale, shift;
    Verdict verdict;
  };
  for (const Case& k :
       {Case{0.5, 0.0, Verdict::kOverConfident}, Case{2.0, 0.0, Verdict::kUnderConfident},
        Case{1.0, 1.0, Verdict::kBiased}}) {
    const Experiment e = ppca(1, 500, 99, k.scale, k.shift);
    const Checked c = check(e, 1);
    for (const DimensionCalibration& d : c.dims) {
      EXPECT_LT(d.p_value, 1e-6) << k.scale << " " << k.shift;
      EXPECT_EQ(d.verdict, k.verdict) << k.scale << " " << k.shift << " " << d.name;
    }
    // Too narrow: the 90 % intervals hold far fewer truths; too wide: more.
    auto generator = at::detail::createCPUGenerator(7);
    const CoverageCurve central = central_coverage(c.u);
    const CoverageCurve joint =
        region_coverage(density_pit(e.log_q_truth, e.log_q_draws, generator));
    const size_t at90 = 89;  // alpha = 0.9 of 99 levels
    ASSERT_NEAR(central.alpha[at90], 0.9, 1e-12);
    if (k.verdict == Verdict::kOverConfident) {
      EXPECT_LT(central.coverage[at90], 0.7);
      EXPECT_LT(joint.coverage[at90], 0.7);
    } else if (k.verdict == Verdict::kUnderConfident) {
      EXPECT_GT(central.coverage[at90], 0.99);
      EXPECT_GT(joint.coverage[at90], 0.99);
    }
    EXPECT_GT(central.area, 0.05);
  }
}

TEST(CalibrationProof, ConjugatePoissonGammaPosterior) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const Checked exact = check(poisson_gamma(seed, 500, 99, 1.0), seed);
    EXPECT_GT(exact.dims[0].p_value, 0.01) << "seed " << seed;
    EXPECT_EQ(exact.dims[0].verdict, Verdict::kOk) << "seed " << seed;
  }
  // The rate 1.5 times too large: the draws sit below the truth.
  const Checked wrong = check(poisson_gamma(1, 500, 99, 1.5), 1);
  EXPECT_LT(wrong.dims[0].p_value, 1e-6);
  EXPECT_EQ(wrong.dims[0].verdict, Verdict::kBiased);
  EXPECT_GT(wrong.dims[0].bias_z, 0.0);
}

TEST(Calibration, ReliabilityOfCalibratedAndSkewedPredictions) {
  auto generator = at::detail::createCPUGenerator(13);
  const int64_t n = 200000;
  const torch::Tensor p = torch::rand({n}, generator, kF64);
  const torch::Tensor y = (torch::rand({n}, generator, kF64) < p).to(torch::kFloat64);
  const Reliability good = reliability(p, y, 10);
  int64_t total = 0;
  for (size_t b = 0; b < good.counts.size(); ++b) {
    total += good.counts[b];
    // Each bin's frequency is its mean prediction, within the binomial error.
    const double se = std::sqrt(0.25 / static_cast<double>(good.counts[b]));
    EXPECT_NEAR(good.observed[b], good.predicted[b], 4 * se);
  }
  EXPECT_EQ(total, n);
  EXPECT_LT(good.expected_calibration_error, 0.01);
  // Outcomes drawn with p^2: over-predicted in the middle.
  const torch::Tensor y2 = (torch::rand({n}, generator, kF64) < p * p).to(torch::kFloat64);
  const Reliability skewed = reliability(p, y2, 10);
  EXPECT_LT(skewed.observed[5], skewed.predicted[5] - 0.1);
  EXPECT_GT(skewed.expected_calibration_error, 0.1);
}

TEST(Calibration, VerdictNamesRoundTrip) {
  for (const std::string& name : verdicts().names())
    EXPECT_EQ(to_string(verdicts().parse(name)), name);
  EXPECT_NE(testing::error_of([] { verdicts().parse("fine"); }), "");
}

}  // namespace
}  // namespace vae
