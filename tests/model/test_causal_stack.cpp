#include "vae/model/causal_stack.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "vae/model/pixel_context.h"

namespace vae {
namespace {

// A context with every weight random (its own initialisation leaves some at
// zero), so that every term and gradient is exercised.
PixelContext random_context(int64_t channels, int64_t kernel, int64_t hidden, int64_t features,
                            int64_t feature_kernel, bool read_z) {
  torch::manual_seed(11);
  PixelContext context(PixelContextOptions(channels, kernel)
                           .hidden(hidden)
                           .gates_read_z(read_z)
                           .features(features)
                           .feature_kernel(feature_kernel));
  const torch::NoGradGuard no_grad;
  for (auto& p : context->named_parameters())
    p.value().normal_(0.0, 0.7);
  return context;
}

// The stack's convolutions, in double precision, as PixelContext wrote them
// before the fused pass: the reference.
CausalStackTerms by_convolutions(const PixelContext& context, const torch::Tensor& x) {
  const int64_t c = x.size(1), pad = context->kernel() / 2, f = context->features();
  const torch::Tensor linear = torch::conv2d(x, context->masked_weight(), {}, 1, pad, 1, c);
  const torch::Tensor terms = torch::conv2d(x, context->masked_feature_weight(), {}, 1, pad, 1, c)
                                  .view({x.size(0), c, 2, f, x.size(2), x.size(3)});
  const torch::Tensor features =
      (torch::tanh(terms.select(2, 0)) * torch::sigmoid(terms.select(2, 1)))
          .reshape({x.size(0), c * f, x.size(2), x.size(3)});
  const torch::Tensor gates = torch::conv2d(x, context->masked_gate_weight(), {}, 1, pad, 1, c) +
                              torch::conv2d(features, context->masked_feature_gate_weight(), {}, 1,
                                            context->options().feature_kernel() / 2, 1, c);
  return {linear, gates};
}

struct Shape {
  int64_t channels, kernel, hidden, features, feature_kernel, height, width;
};

class CausalStack : public ::testing::TestWithParam<Shape> {};
INSTANTIATE_TEST_SUITE_P(Shapes, CausalStack,
                         ::testing::Values(Shape{1, 7, 8, 8, 5, 12, 10},  // the preset's kernels
                                           Shape{2, 3, 2, 3, 1, 5, 7},    // groups, a 1 x 1 mask B
                                           Shape{3, 5, 1, 2, 3, 6, 4}));

TEST_P(CausalStack, ValuesAndGradientsEqualTheConvolutionsInDoublePrecision) {
  const Shape s = GetParam();
  PixelContext exact =
      random_context(s.channels, s.kernel, s.hidden, s.features, s.feature_kernel, false);
  PixelContext fused =
      random_context(s.channels, s.kernel, s.hidden, s.features, s.feature_kernel, false);
  exact->to(torch::kFloat64);
  const torch::Tensor x64 =
      torch::bernoulli(torch::full({3, s.channels, s.height, s.width}, 0.4, torch::kFloat64))
          .requires_grad_(true);
  const torch::Tensor x32 = x64.detach().to(torch::kFloat32).requires_grad_(true);
  ASSERT_TRUE(causal_stack_covers(x32));
  ASSERT_FALSE(causal_stack_covers(x64));
  const CausalStackTerms want = by_convolutions(exact, x64);
  const CausalStackTerms got =
      causal_stack_terms(x32, fused->masked_weight(), fused->masked_gate_weight(),
                         fused->masked_feature_weight(), fused->masked_feature_gate_weight());
  ASSERT_EQ(got.linear.sizes(), want.linear.sizes());
  ASSERT_EQ(got.gates.sizes(), want.gates.sizes());
  EXPECT_LT((got.linear.to(torch::kFloat64) - want.linear).abs().max().item<double>(),
            1e-5 * want.linear.abs().max().item<double>());
  EXPECT_LT((got.gates.to(torch::kFloat64) - want.gates).abs().max().item<double>(),
            1e-5 * want.gates.abs().max().item<double>());
  // Gradients of a random linear function of both outputs, so that every
  // output counts, for x and every parameter.
  const torch::Tensor wl = torch::randn(want.linear.sizes(), torch::kFloat64),
                      wg = torch::randn(want.gates.sizes(), torch::kFloat64);
  ((want.linear * wl).sum() + (want.gates * wg).sum()).backward();
  ((got.linear * wl.to(torch::kFloat32)).sum() + (got.gates * wg.to(torch::kFloat32)).sum())
      .backward();
  const torch::Tensor ex = x64.grad(), fx = x32.grad().to(torch::kFloat64);
  EXPECT_LT((fx - ex).abs().max().item<double>(), 1e-5 * ex.abs().max().item<double>());
  const auto exact_params = exact->named_parameters(), fused_params = fused->named_parameters();
  int64_t compared = 0;
  for (const auto& p : exact_params) {
    // The output weights are not the stack's: neither side touches them.
    const torch::Tensor e = p.value().grad(), g = fused_params[p.key()].grad();
    ASSERT_EQ(e.defined(), g.defined()) << p.key();
    if (!e.defined()) continue;
    ++compared;
    const torch::Tensor f = g.to(torch::kFloat64);
    ASSERT_EQ(f.sizes(), e.sizes()) << p.key();
    EXPECT_LT((f - e).abs().max().item<double>(), 1e-5 * e.abs().max().item<double>()) << p.key();
  }
  EXPECT_EQ(compared, 4);  // weight, gate, feature and feature-gate weights
}

TEST(CausalStackTerms, PixelContextTakesThemForFloatAlone) {
  // window_terms() of a float context equals the double context's
  // convolutions, with gates that read z and without.
  for (bool read_z : {false, true}) {
    PixelContext fused = random_context(1, 5, 3, 2, 3, read_z);
    PixelContext exact = random_context(1, 5, 3, 2, 3, read_z);
    exact->to(torch::kFloat64);
    const torch::Tensor x = torch::bernoulli(torch::full({4, 1, 8, 8}, 0.3));
    const torch::Tensor output = torch::randn({4, 1, 8, 8});
    const torch::Tensor got = fused->forward(x, output);
    const torch::Tensor want = exact->forward(x.to(torch::kFloat64), output.to(torch::kFloat64));
    EXPECT_LT((got.to(torch::kFloat64) - want).abs().max().item<double>(),
              1e-5 * want.abs().max().item<double>())
        << read_z;
  }
}

TEST(CausalStackTerms, SameOnEveryThreadCount) {
  // The weights' gradients add per-thread sums in thread order: a fixed
  // thread count gives fixed numbers, and another count agrees to rounding.
  PixelContext context = random_context(1, 7, 4, 4, 5, false);
  const torch::Tensor x = torch::bernoulli(torch::full({9, 1, 10, 10}, 0.3));
  const int threads = at::get_num_threads();
  std::vector<std::vector<torch::Tensor>> grads;
  for (int t : {1, 2, 2}) {
    at::set_num_threads(t);
    context->zero_grad();
    const CausalStackTerms terms =
        causal_stack_terms(x, context->masked_weight(), context->masked_gate_weight(),
                           context->masked_feature_weight(), context->masked_feature_gate_weight());
    (terms.linear.pow(2).sum() + terms.gates.pow(2).sum()).backward();
    grads.emplace_back();
    for (const auto& p : context->parameters()) {
      if (p.grad().defined()) grads.back().push_back(p.grad().clone());
    }
  }
  at::set_num_threads(threads);
  ASSERT_EQ(grads[0].size(), 4u);
  for (size_t i = 0; i < grads[0].size(); ++i) {
    EXPECT_TRUE(torch::equal(grads[1][i], grads[2][i])) << i;
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-4, 1e-5)) << i;
  }
}

TEST(CausalStackTerms, RefusesMismatchedShapes) {
  PixelContext c = random_context(1, 5, 2, 2, 3, false);
  const torch::Tensor x = torch::zeros({2, 1, 6, 6});
  const torch::Tensor w = c->masked_weight(), g = c->masked_gate_weight(),
                      f = c->masked_feature_weight(), fg = c->masked_feature_gate_weight();
  EXPECT_ANY_THROW(causal_stack_terms(torch::zeros({2, 6, 6}), w, g, f, fg));
  EXPECT_ANY_THROW(causal_stack_terms(torch::zeros({2, 2, 6, 6}), w, g, f, fg));
  EXPECT_ANY_THROW(causal_stack_terms(x, w, g.narrow(0, 0, 3), f, fg));
  EXPECT_ANY_THROW(causal_stack_terms(x, w, g, f, fg.narrow(1, 0, 1)));
  EXPECT_ANY_THROW(causal_stack_terms(x, w, g, f.narrow(2, 0, 4), fg));
}

}  // namespace
}  // namespace vae
