#include "vae/model/pixel_gates.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "vae/model/pixel_context.h"

namespace vae {
namespace {

// The formula in double precision, op by op, with the window terms repeated
// for the copies: y = v + sum_h u_h tanh(A_h + g_h v) sigmoid(B_h + g'_h v).
torch::Tensor formula(const torch::Tensor& gates, const torch::Tensor& v,
                      const torch::Tensor& logit_weight, const torch::Tensor& out_weight) {
  const int64_t copies = v.size(0) / gates.size(0), channels = gates.size(1), units = gates.size(3);
  const torch::Tensor g = gates.repeat_interleave(copies, 0);  // [R, C, 2, H', H, W]
  const torch::Tensor vv = v.unsqueeze(2).unsqueeze(2);        // [R, C, 1, 1, H, W]
  const torch::Tensor lw = logit_weight.view({1, channels, 2, units, 1, 1});
  const torch::Tensor a = g.select(2, 0) + lw.select(2, 0) * vv.select(2, 0);
  const torch::Tensor b = g.select(2, 1) + lw.select(2, 1) * vv.select(2, 0);
  const torch::Tensor u = out_weight.view({1, channels, units, 1, 1});
  return v + (u * torch::tanh(a) * torch::sigmoid(b)).sum(2);
}

struct Inputs {
  std::vector<torch::Tensor> tensors;  // gates, v, logit weight, out weight
};

Inputs random_inputs(int64_t images, int64_t copies, int64_t channels, int64_t units,
                     torch::Dtype dtype) {
  torch::manual_seed(7);
  const int64_t h = 5, w = 6;
  // Gate inputs over tanh's and sigmoid's both branches and saturation.
  return {{torch::randn({images, channels, 2, units, h, w}, dtype) * 3.0,
           torch::randn({images * copies, channels, h, w}, dtype) * 2.0,
           torch::randn({channels, 2, units}, dtype),
           torch::randn({channels, units, 1, 1}, dtype)}};
}

class FusedGates : public ::testing::TestWithParam<int64_t> {};  // codes per image
INSTANTIATE_TEST_SUITE_P(OneAndThreeCodesPerImage, FusedGates, ::testing::Values(1, 3));

TEST_P(FusedGates, ValueAndGradientsEqualTheFormulaInDoublePrecision) {
  const int64_t copies = GetParam();
  const Inputs in64 = random_inputs(4, copies, 2, 3, torch::kFloat64);
  std::vector<torch::Tensor> exact, fused;
  for (const torch::Tensor& t : in64.tensors) {
    exact.push_back(t.clone().requires_grad_(true));
    fused.push_back(t.to(torch::kFloat32).requires_grad_(true));
  }
  ASSERT_TRUE(gated_logit_read_covers(fused[0], fused[1]));
  ASSERT_FALSE(gated_logit_read_covers(exact[0], exact[1]));
  const torch::Tensor want = formula(exact[0], exact[1], exact[2], exact[3]);
  const torch::Tensor got = gated_logit_read(fused[0], fused[1], fused[2], fused[3]);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LT((got.to(torch::kFloat64) - want).abs().max().item<double>(),
            1e-5 * want.abs().max().item<double>());
  // Gradients of a random linear function of y, so every output counts.
  const torch::Tensor weight = torch::randn(want.sizes(), torch::kFloat64);
  (want * weight).sum().backward();
  (got * weight.to(torch::kFloat32)).sum().backward();
  for (size_t i = 0; i < exact.size(); ++i) {
    const torch::Tensor e = exact[i].grad(), f = fused[i].grad().to(torch::kFloat64);
    ASSERT_EQ(f.sizes(), e.sizes()) << i;
    EXPECT_LT((f - e).abs().max().item<double>(), 1e-5 * e.abs().max().item<double>()) << i;
  }
}

TEST(FusedGates, SameOnEveryThreadCount) {
  // The weights' gradients add per-thread sums in thread order: a fixed
  // thread count gives fixed numbers, and another count agrees to rounding.
  const Inputs in = random_inputs(9, 2, 1, 4, torch::kFloat32);
  const int threads = at::get_num_threads();
  std::vector<std::vector<torch::Tensor>> grads;
  for (int t : {1, 2, 2}) {
    at::set_num_threads(t);
    std::vector<torch::Tensor> leaves;
    for (const torch::Tensor& x : in.tensors)
      leaves.push_back(x.clone().requires_grad_(true));
    gated_logit_read(leaves[0], leaves[1], leaves[2], leaves[3]).pow(2).sum().backward();
    grads.emplace_back();
    for (const torch::Tensor& l : leaves)
      grads.back().push_back(l.grad());
  }
  at::set_num_threads(threads);
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    EXPECT_TRUE(torch::equal(grads[1][i], grads[2][i])) << i;
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-5, 1e-5)) << i;
  }
}

TEST(FusedGates, RefusesMismatchedShapes) {
  const Inputs in = random_inputs(2, 1, 1, 2, torch::kFloat32);
  const torch::Tensor& g = in.tensors[0];
  EXPECT_ANY_THROW(gated_logit_read(g, torch::zeros({3, 1, 5, 6}), in.tensors[2], in.tensors[3]));
  EXPECT_ANY_THROW(gated_logit_read(g, in.tensors[1], torch::zeros({1, 2, 3}), in.tensors[3]));
}

TEST(FusedGates, PixelContextTakesThemForFloatAndCopies) {
  // apply() of window terms to N * copies output rows equals forward() of the
  // images repeated, on the fused path (float) as on the formula's (double).
  for (torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(3);
    PixelContext context(PixelContextOptions(1, 5).hidden(4).gates_read_z(true));
    {
      torch::NoGradGuard no_grad;
      for (auto& p : context->named_parameters())
        p.value().normal_(0.0, 1.0);
    }
    context->to(dtype);
    const torch::Tensor x = torch::bernoulli(torch::full({3, 1, 6, 6}, 0.4, dtype));
    const torch::Tensor output = torch::randn({6, 1, 6, 6}, dtype);
    const torch::Tensor want = context->forward(x.repeat_interleave(2, 0), output);
    const torch::Tensor got = context->apply(context->window_terms(x), output);
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5)) << dtype;
  }
}

}  // namespace
}  // namespace vae
