#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "test_support.h"
#include "vae/data/mnist.h"
#include "vae/evaluation/likelihood_eval.h"
#include "vae/model/likelihood.h"
#include "vae/run/trained_model.h"
#include "vae/training/trainer.h"

namespace vae {
namespace {

const LikelihoodFamily& cb() {
  return *parse_likelihood("continuous-bernoulli");
}

double logit(double lambda) {
  return std::log(lambda / (1.0 - lambda));
}

// Includes lambda within 1e-4 of 1/2, where C(lambda)'s formula is 0/0.
const std::vector<double> kLambdas = {0.001,  0.05, 0.3, 0.49, 0.4999, 0.5,
                                      0.5001, 0.51, 0.8, 0.99, 0.999};

// Simpson's rule over x in [0, 1] of f(x) * p(x | lambda) for one pixel.
double integrate(double lambda, double (*f)(double)) {
  const int64_t intervals = 4000;  // even
  const torch::Tensor x = torch::linspace(0.0, 1.0, intervals + 1, torch::kFloat64).unsqueeze(1);
  const torch::Tensor output = torch::full_like(x, logit(lambda));
  const torch::Tensor density = cb().log_prob(x, output, {}).exp();
  double sum = 0.0;
  for (int64_t i = 0; i <= intervals; ++i) {
    const double w = (i == 0 || i == intervals) ? 1.0 : (i % 2 == 1 ? 4.0 : 2.0);
    sum += w * f(x[i][0].item<double>()) * density[i].item<double>();
  }
  return sum / (3.0 * intervals);
}

TEST(ContinuousBernoulli, DensityIntegratesToOne) {
  for (double lambda : kLambdas) {
    EXPECT_NEAR(integrate(lambda, [](double) { return 1.0; }), 1.0, 1e-8) << "lambda " << lambda;
  }
}

TEST(ContinuousBernoulli, MeanIsTheIntegralOfX) {
  for (double lambda : kLambdas) {
    const double expected = integrate(lambda, [](double x) { return x; });
    const torch::Tensor output = torch::full({1, 1}, logit(lambda), torch::kFloat64);
    EXPECT_NEAR(cb().mean(output).item<double>(), expected, 1e-8) << "lambda " << lambda;
  }
}

// Against the formula in long double, on both sides of the series' range
// (|l| < 0.02) and far out, in float32 as the decoder runs it.
TEST(ContinuousBernoulli, LogNormaliserIsSmoothAndAccurate) {
  const std::vector<double> logits = {-40.0, -5.0, -0.0201, -0.0199, -1e-4, -1e-7, 0.0,
                                      1e-7,  1e-4, 0.0199,  0.0201,  0.5,   7.0,   40.0};
  for (double l : logits) {
    const long double L = l;
    const long double log_c = l == 0.0 ? std::log(2.0L) : std::log(L / std::tanh(L / 2));
    // x = 0.3: x l - softplus(l) + log C.
    const long double softplus = L > 0 ? L + std::log1p(std::exp(-L)) : std::log1p(std::exp(L));
    const double expected = static_cast<double>(0.3L * L - softplus + log_c);
    const torch::Tensor x = torch::full({1, 1}, 0.3f);
    const torch::Tensor output = torch::full({1, 1}, static_cast<float>(l));
    const double got = cb().log_prob(x, output, {}).item<double>();
    EXPECT_NEAR(got, expected, 2e-6 * std::max(1.0, std::abs(expected))) << "logit " << l;
  }
}

TEST(ContinuousBernoulli, SamplesFollowTheDistribution) {
  const int64_t n = 20000;
  for (double lambda : {0.02, 0.5, 0.7, 0.999}) {
    auto generator = at::detail::createCPUGenerator(11);
    const torch::Tensor output = torch::full({n, 1}, logit(lambda), torch::kFloat64);
    const torch::Tensor x = cb().sample(output, {}, generator);
    ASSERT_TRUE(x.ge(0.0).all().item<bool>() && x.le(1.0).all().item<bool>());
    const double se = x.std().item<double>() / std::sqrt(static_cast<double>(n));
    EXPECT_NEAR(x.mean().item<double>(), cb().mean(output[0]).item<double>(), 4.0 * se)
        << "lambda " << lambda;
    // P(x < 1/2) against the CDF (lambda^x (1 - lambda)^(1 - x) + lambda - 1) /
    // (2 lambda - 1).
    const double half =
        lambda == 0.5 ? 0.5
                      : (std::sqrt(lambda * (1.0 - lambda)) + lambda - 1.0) / (2.0 * lambda - 1.0);
    const double below = x.lt(0.5).to(torch::kFloat64).mean().item<double>();
    EXPECT_NEAR(below, half, 4.0 * std::sqrt(half * (1.0 - half) / n)) << "lambda " << lambda;
  }
}

TEST(ContinuousBernoulli, ExportedMeanMatches) {
  torch::jit::Module module("M");
  module.define("def forward(self, h):\n" + cb().script_mean() + "        return h\n");
  const torch::Tensor output = torch::tensor({-30.0f, -2.0f, -0.01f, 0.0f, 0.003f, 0.5f, 9.0f});
  const torch::Tensor got = module.forward({output}).toTensor();
  EXPECT_TRUE(torch::allclose(got, cb().mean(output), 1e-6, 1e-7));
}

// A short MNIST run on grey levels: trains, and the importance-sampled
// log p(x) is a normalised log-likelihood (above the ELBO, and positive:
// a density on [0, 1]^784 can exceed 1).
TEST(ContinuousBernoulli, TrainsAndEvaluatesOnGreyLevelMnist) {
  testing::ScratchDir dir;
  TrainConfig config;
  config.data_dir = testing::mnist_dir();
  config.train_size = 3000;
  config.test_size = 200;
  config.batch_size = 50;
  config.epochs = 2;
  config.threads = 1;
  config.samples = 0;
  config.network.hidden({128}).latent_dim(8).likelihood(&cb());
  config.out = dir.file("run");
  std::ostringstream log;
  TrainOptions options;
  options.log = &log;
  const TrainResult result = train(config, options);
  ASSERT_EQ(result.history.size(), 2u);
  EXPECT_LT(result.history[1].test_neg_elbo, result.history[0].test_neg_elbo);
  EXPECT_LT(result.history[1].test_neg_elbo, 0.0);

  TrainedModel trained =
      load_trained_model(dir.file("run/checkpoint.pt"), nlohmann::json::object(), "cpu");
  const ImageDataset test = load_test_images(trained, "");
  LikelihoodEvalOptions eval;
  eval.k = 50;
  const LikelihoodEvalResult r =
      evaluate_log_likelihood(trained.model, test.images.narrow(0, 0, 100), trained.device, eval);
  EXPECT_TRUE(std::isfinite(r.log_px));
  EXPECT_GE(r.log_px, r.elbo);
  EXPECT_GT(r.log_px, 0.0);
}

}  // namespace
}  // namespace vae
