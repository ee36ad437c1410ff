#include "vae/model/iaf_flow_pass.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>
#include <vector>

#include "test_support.h"
#include "vae/model/network_options.h"
#include "vae/model/posterior.h"

namespace vae {
namespace {

// Random steps with gates on both sides of 0 (not the initial ones near 1).
std::vector<IafStepTensors> random_steps(int64_t steps, int64_t d, int64_t h, int64_t images) {
  std::vector<IafStepTensors> out;
  for (int64_t k = 0; k < steps; ++k) {
    out.push_back({torch::randn({h, d}) * 0.5, torch::randn({h}) * 0.5,
                   torch::randn({images, h}) * 0.5, torch::randn({2 * d, h}) * 0.5,
                   torch::randn({2 * d}) * 0.5});
  }
  return out;
}

// The steps by their formula, op by op in `dtype`; z [R, D].
torch::Tensor formula(torch::Tensor z, const std::vector<IafStepTensors>& steps,
                      torch::Tensor* log_det, torch::Dtype dtype = torch::kFloat64) {
  const auto f64 = [dtype](const torch::Tensor& t) { return t.to(dtype); };
  z = f64(z);
  *log_det = torch::zeros({z.size(0)}, z.options());
  for (const IafStepTensors& step : steps) {
    const torch::Tensor context =
        f64(step.context).repeat_interleave(z.size(0) / step.context.size(0), 0);
    const torch::Tensor hidden =
        torch::relu(z.matmul(f64(step.in_weight).t()) + f64(step.in_bias) + context);
    const torch::Tensor out = hidden.matmul(f64(step.out_weight).t()) + f64(step.out_bias);
    const int64_t d = z.size(1);
    const torch::Tensor m = out.narrow(1, 0, d), s = out.narrow(1, d, d);
    const torch::Tensor gate = torch::sigmoid(s);
    z = gate * z + (1.0 - gate) * m;
    *log_det = *log_det + torch::log_sigmoid(s).sum(1);
  }
  return z;
}

TEST(IafFlowPass, MatchesTheFormulaInDoublePrecision) {
  torch::manual_seed(3);
  const torch::NoGradGuard no_grad;
  // One code per image, and 3 per image over more rows than one block.
  for (const auto& [images, copies] : std::vector<std::pair<int64_t, int64_t>>{{7, 1}, {110, 3}}) {
    const int64_t d = 6, h = 20;
    const std::vector<IafStepTensors> steps = random_steps(3, d, h, images);
    const torch::Tensor z = torch::randn({images, copies, d}) * 2.0;
    torch::Tensor log_det;
    const torch::Tensor got = iaf_flow_pass(z, steps, &log_det);
    ASSERT_EQ(got.sizes(), z.sizes());
    ASSERT_EQ(log_det.sizes(), (std::vector<int64_t>{images, copies}));
    torch::Tensor expected_log_det;
    const torch::Tensor expected = formula(z.reshape({-1, d}), steps, &expected_log_det);
    const auto error = [](const torch::Tensor& a, const torch::Tensor& b) {
      return (a.reshape({-1}).to(torch::kFloat64) - b.reshape({-1})).abs().max().item<double>();
    };
    // The yardstick: the same formula op by op in float32 (LibTorch's
    // rounding); the pass may differ from double precision by a few times
    // that, not more.
    torch::Tensor float_log_det;
    const torch::Tensor float_z =
        formula(z.reshape({-1, d}), steps, &float_log_det, torch::kFloat32);
    const double z_rounding = error(float_z, expected);
    const double log_det_rounding = error(float_log_det, expected_log_det);
    EXPECT_LT(error(got, expected), 4.0 * z_rounding + 1e-6) << copies << " codes per image";
    EXPECT_LT(error(log_det, expected_log_det), 4.0 * log_det_rounding + 1e-6)
        << copies << " codes per image";
    std::cout << "[ rounding ] " << copies << " codes per image: z " << error(got, expected)
              << " (float32 formula " << z_rounding << "), log det "
              << error(log_det, expected_log_det) << " (" << log_det_rounding << ")\n";
    // The flow moved the codes: the check has something to check.
    EXPECT_GT((expected - z.reshape({-1, d}).to(torch::kFloat64)).abs().max().item<double>(), 0.1);
    EXPECT_GT(expected_log_det.abs().min().item<double>(), 1e-3);
  }
}

TEST(IafFlowPass, TakesFloatCodesOnTheCpuWithAutogradOff) {
  const torch::Tensor z = torch::randn({4, 3});
  EXPECT_FALSE(iaf_flow_pass_covers(z));  // autograd on: training needs the graph
  const torch::NoGradGuard no_grad;
  EXPECT_TRUE(iaf_flow_pass_covers(z));
  EXPECT_FALSE(iaf_flow_pass_covers(z.to(torch::kFloat64)));
}

TEST(IafFlowPass, RejectsWeightsThatDoNotFit) {
  const torch::NoGradGuard no_grad;
  const torch::Tensor z = torch::randn({6, 4});
  std::vector<IafStepTensors> steps = random_steps(1, 4, 8, 3);
  steps[0].in_weight = torch::randn({8, 5});
  EXPECT_NE(testing::error_of([&] { iaf_flow_pass(z, steps, nullptr); }).find("iaf_flow_pass"),
            std::string::npos);
  steps = random_steps(1, 4, 8, 4);  // 6 codes are not a multiple of 4 images
  EXPECT_NE(testing::error_of([&] { iaf_flow_pass(z, steps, nullptr); }).find("context [4, 8]"),
            std::string::npos);
}

TEST(IafFlowPass, TheNumbersDoNotDependOnTheThreadCount) {
  torch::manual_seed(4);
  const torch::NoGradGuard no_grad;
  const std::vector<IafStepTensors> steps = random_steps(4, 5, 16, 300);
  const torch::Tensor z = torch::randn({300, 2, 5});
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> outputs;
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    torch::Tensor log_det;
    outputs.push_back(iaf_flow_pass(z, steps, &log_det));
    outputs.push_back(log_det);
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(outputs[0], outputs[2]));
  EXPECT_TRUE(torch::equal(outputs[1], outputs[3]));
}

// The IAF posterior with autograd off (evaluation, importance sampling)
// takes the pass, with its reversed steps' weights permuted; with autograd
// on (training) its modules. Both give the same draws, log q and mean.
TEST(IafFlowPass, TheIafPosteriorDrawsAsItsModulesDo) {
  torch::manual_seed(5);
  const NetworkOptions o =
      NetworkOptions().posterior(parse_posterior("iaf")).latent_dim(5).flow_steps(3).iaf_hidden(12);
  const PosteriorFamily& family = *parse_posterior("iaf");
  const auto networks = family.make_parameters(o);
  {
    const torch::NoGradGuard no_grad;
    for (auto& p : networks->parameters())
      p.normal_(0.0, 0.5);
  }
  const torch::Tensor stats = torch::randn({4, family.stats_size(o)});
  const auto q = family.read(stats, o, networks);
  const auto q3 = q->expand(3);
  const torch::Tensor eps = torch::randn({4, 3, 5});
  const PosteriorDraw modules = q3->rsample_with_log_prob(eps);
  const torch::Tensor modules_mean = q->mean();
  ASSERT_TRUE(modules.z.requires_grad());  // the op-by-op graph
  const torch::NoGradGuard no_grad;
  const PosteriorDraw pass = q3->rsample_with_log_prob(eps);
  EXPECT_LT((pass.z - modules.z).abs().max().item<double>(), 1e-5);
  EXPECT_LT((pass.log_q - modules.log_q).abs().max().item<double>(), 1e-4);
  EXPECT_LT((q->mean() - modules_mean).abs().max().item<double>(), 1e-5);
  // The steps moved the base draws mu + sigma eps: the check has something to check.
  const torch::Tensor z0 = stats.narrow(1, 0, 5).unsqueeze(1) +
                           torch::exp(0.5 * stats.narrow(1, 5, 5)).unsqueeze(1) * eps;
  EXPECT_GT((pass.z - z0).abs().max().item<double>(), 0.1);
}

}  // namespace
}  // namespace vae
