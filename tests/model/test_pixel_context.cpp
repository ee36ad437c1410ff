#include "vae/model/pixel_context.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "vae/model/decoder.h"

namespace vae {
namespace {

// A context whose weights are away from their zero start.
PixelContext random_context(int64_t channels, int64_t kernel, uint64_t seed, int64_t hidden = 0,
                            bool gates_read_z = false, int64_t features = 0,
                            int64_t feature_kernel = 3) {
  torch::manual_seed(seed);
  PixelContext context(PixelContextOptions(channels, kernel)
                           .hidden(hidden)
                           .gates_read_z(gates_read_z)
                           .features(features)
                           .feature_kernel(feature_kernel));
  torch::NoGradGuard no_grad;
  for (auto& p : context->named_parameters())
    p.value().normal_(0.0, 1.0);
  return context;
}

// The offsets of a context whose gates read x alone: forward with a zero output.
torch::Tensor offsets(const PixelContext& context, const torch::Tensor& x) {
  return context->forward(x, torch::zeros_like(x));
}

TEST(PixelContext, OffsetsAreTheCausalWindowSum) {
  // Brute force: offset(c, r, q) = sum over (dr, dq) in the window with
  // (dr, dq) before the centre in raster order of w[c, dr, dq] x(c, r+dr-p, q+dq-p).
  const int64_t kernel = 5, p = 2, channels = 2, h = 6, w = 7;
  PixelContext context = random_context(channels, kernel, 1);
  const torch::Tensor x = torch::rand({3, channels, h, w}, torch::kFloat64);
  context->to(torch::kFloat64);
  const torch::Tensor got = offsets(context, x);
  const torch::Tensor weight = context->named_parameters()["weight"].detach();
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q) {
          double expected = 0.0;
          for (int64_t dr = 0; dr < kernel; ++dr)
            for (int64_t dq = 0; dq < kernel; ++dq) {
              if (dr > p || (dr == p && dq >= p)) continue;  // the centre and after
              const int64_t rr = r + dr - p, qq = q + dq - p;
              if (rr < 0 || qq < 0 || qq >= w) continue;
              expected += weight[c][0][dr][dq].item<double>() * x[n][c][rr][qq].item<double>();
            }
          ASSERT_NEAR(got[n][c][r][q].item<double>(), expected, 1e-12)
              << n << " " << c << " " << r << " " << q;
        }
}

class GatedUnits : public ::testing::TestWithParam<bool> {};  // whether the gates read z
INSTANTIATE_TEST_SUITE_P(OfXAndOfXAndZ, GatedUnits, ::testing::Bool());

// The gated units of a float64 context with a 3 x 3 window, by hand: l =
// output + the linear window sum (a context with the same linear weights
// alone), the image zero-padded by 1, mask A written out, and the units'
// weights (g = g' = 0 when the gates read x alone).
struct HandGates {
  torch::Tensor l, padded, mask, gate, out, logit;

  HandGates(PixelContext& context, const torch::Tensor& x, const torch::Tensor& output,
            int64_t hidden, bool read_z) {
    const int64_t channels = x.size(1), kernel = 3;
    PixelContext linear(channels, kernel);
    linear->to(torch::kFloat64);
    {
      torch::NoGradGuard no_grad;
      linear->named_parameters()["weight"].copy_(context->named_parameters()["weight"]);
    }
    l = linear->forward(x, output).detach();
    padded = torch::constant_pad_nd(x, {1, 1, 1, 1});
    auto params = context->named_parameters();
    mask = torch::tensor({1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0}, torch::kFloat64)
               .view({kernel, kernel});
    gate = params["gate_weight"].detach().view({channels, 2, hidden, kernel, kernel});
    out = params["out_weight"].detach().view({channels, hidden});
    logit = read_z ? params["logit_weight"].detach()
                   : torch::zeros({channels, 2, hidden}, torch::kFloat64);
  }
  // Pixel (n, c, r, q)'s 3 x 3 window of the padded image.
  torch::Tensor window(int64_t n, int64_t c, int64_t r, int64_t q) const {
    return padded[n][c].narrow(0, r, 3).narrow(1, q, 3);
  }
  // Unit u's term a (side 0) or b (side 1) at that pixel: filter . window + g l.
  double term(int64_t side, int64_t n, int64_t c, int64_t r, int64_t q, int64_t u) const {
    return (gate[c][side][u] * mask * window(n, c, r, q)).sum().item<double>() +
           logit[c][side][u].item<double>() * l[n][c][r][q].item<double>();
  }
  // Unit u's output weight times tanh(a) sigmoid(b).
  double unit(int64_t c, int64_t u, double a, double b) const {
    return out[c][u].item<double>() * std::tanh(a) / (1.0 + std::exp(-b));
  }
};

TEST_P(GatedUnits, AddTheirFormulaToTheWindowSum) {
  // v = l + sum_u out[c, u] tanh(a_u . window + g_u l) sigmoid(b_u . window
  // + g'_u l), l = output + the linear window sum (g = g' = 0 when the
  // gates read x alone), by hand with the window cut out of the padded
  // image and the mask applied to the filters.
  const bool read_z = GetParam();
  const int64_t kernel = 3, channels = 2, hidden = 3, h = 4, w = 5;
  PixelContext context = random_context(channels, kernel, 4, hidden, read_z);
  context->to(torch::kFloat64);
  const torch::Tensor x = torch::rand({2, channels, h, w}, torch::kFloat64);
  const torch::Tensor output = torch::randn({2, channels, h, w}, torch::kFloat64);
  const torch::Tensor got = context->forward(x, output).detach();
  const HandGates by_hand(context, x, output, hidden, read_z);
  EXPECT_EQ(context->named_parameters().contains("logit_weight"), read_z);
  double largest = 0.0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q) {
          const double l = by_hand.l[n][c][r][q].item<double>();
          double expected = l;
          for (int64_t u = 0; u < hidden; ++u)
            expected +=
                by_hand.unit(c, u, by_hand.term(0, n, c, r, q, u), by_hand.term(1, n, c, r, q, u));
          largest = std::max(largest, std::abs(expected - l));
          ASSERT_NEAR(got[n][c][r][q].item<double>(), expected, 1e-12)
              << n << " " << c << " " << r << " " << q;
        }
  EXPECT_GT(largest, 0.1);  // the gated units do add something
  if (!read_z) {
    // The first pixel reads nothing: no biases, so its offset is zero.
    const torch::Tensor first = (got - output).select(3, 0).select(2, 0);
    EXPECT_EQ(first.abs().max().item<double>(), 0.0);
  }
}

TEST_P(GatedUnits, ReadTheFirstLayersFeaturesThroughMaskB) {
  // The gates' terms gain sum_f sum_{j <= i in the K' x K' window} e[h, f,
  // j] f_j, f_j = tanh(c_f . window_j) sigmoid(d_f . window_j) (mask A on
  // the filters c, d, mask B on e). By hand: the first layer's features of
  // every pixel from the padded image, then the gates as in the test above.
  const bool read_z = GetParam();
  const int64_t kernel = 3, fk = 3, fp = 1, channels = 2, hidden = 2, maps = 3, h = 4, w = 5;
  PixelContext context = random_context(channels, kernel, 9, hidden, read_z, maps, fk);
  context->to(torch::kFloat64);
  PixelContext one_layer = random_context(channels, kernel, 9, hidden, read_z);
  one_layer->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    auto to = one_layer->named_parameters();
    for (const auto& q : context->named_parameters())
      if (to.contains(q.key())) to[q.key()].copy_(q.value());
  }
  const torch::Tensor x = torch::rand({2, channels, h, w}, torch::kFloat64);
  const torch::Tensor output = torch::randn({2, channels, h, w}, torch::kFloat64);
  const torch::Tensor got = context->forward(x, output).detach();
  const HandGates by_hand(context, x, output, hidden, read_z);
  auto params = context->named_parameters();
  const torch::Tensor mask_b =
      torch::tensor({1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0}, torch::kFloat64).view({fk, fk});
  const torch::Tensor filter =
      params["feature_weight"].detach().view({channels, 2, maps, kernel, kernel});
  const torch::Tensor e =
      params["feature_gate_weight"].detach().view({channels, 2, hidden, maps, fk, fk});
  // f [2, C, F, H + 2 fp, W + 2 fp], zero outside the image.
  torch::Tensor f = torch::zeros({2, channels, maps, h + 2 * fp, w + 2 * fp}, torch::kFloat64);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q) {
          const torch::Tensor window = by_hand.window(n, c, r, q);
          for (int64_t m = 0; m < maps; ++m) {
            const double a = (filter[c][0][m] * by_hand.mask * window).sum().item<double>();
            const double b = (filter[c][1][m] * by_hand.mask * window).sum().item<double>();
            f[n][c][m][r + fp][q + fp] = std::tanh(a) / (1.0 + std::exp(-b));
          }
        }
  double largest = 0.0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q) {
          const torch::Tensor seen = f[n][c].narrow(1, r, fk).narrow(2, q, fk);  // [F, K', K']
          const double l = by_hand.l[n][c][r][q].item<double>();
          double expected = l, one_layer_expected = l;
          for (int64_t u = 0; u < hidden; ++u) {
            double a = by_hand.term(0, n, c, r, q, u), b = by_hand.term(1, n, c, r, q, u);
            one_layer_expected += by_hand.unit(c, u, a, b);
            a += (e[c][0][u] * mask_b * seen).sum().item<double>();
            b += (e[c][1][u] * mask_b * seen).sum().item<double>();
            expected += by_hand.unit(c, u, a, b);
          }
          largest = std::max(largest, std::abs(expected - one_layer_expected));
          ASSERT_NEAR(got[n][c][r][q].item<double>(), expected, 1e-12)
              << n << " " << c << " " << r << " " << q;
        }
  EXPECT_GT(largest, 0.1);  // the features do add something
  // and without them the one-layer context's values.
  EXPECT_GT((got - one_layer->forward(x, output)).abs().max().item<double>(), 0.1);
}

TEST_P(GatedUnits, WindowTermsThenApplyIsForward) {
  // What vae eval computes once per image, finished for each code.
  PixelContext context = random_context(1, 5, 6, 4, GetParam());
  const torch::Tensor x = torch::rand({3, 1, 6, 7});
  const torch::Tensor output = torch::randn({3, 1, 6, 7});
  const PixelContextImpl::WindowTerms terms = context->window_terms(x);
  EXPECT_EQ(terms.gates.defined(), GetParam());
  EXPECT_TRUE(context->apply(terms, output).equal(context->forward(x, output)));
  PixelContext stacked = random_context(1, 5, 6, 4, GetParam(), 3, 5);
  EXPECT_TRUE(stacked->apply(stacked->window_terms(x), output).equal(stacked->forward(x, output)));
}

TEST_P(GatedUnits, StartSilent) {
  torch::manual_seed(5);
  const PixelContext context(PixelContextOptions(1, 5).hidden(4).gates_read_z(GetParam()));
  const torch::Tensor x = torch::rand({2, 1, 6, 6});
  const torch::Tensor output = torch::randn({2, 1, 6, 6});
  EXPECT_TRUE(context->forward(x, output).equal(output));
  EXPECT_GT(context->named_parameters()["gate_weight"].abs().max().item<double>(), 0.0);
  // With a first layer: its filters random, the gates' weights on it zero,
  // so a context adds nothing either.
  const PixelContext stacked(
      PixelContextOptions(1, 5).hidden(4).gates_read_z(GetParam()).features(3));
  EXPECT_TRUE(stacked->forward(x, output).equal(output));
  EXPECT_GT(stacked->named_parameters()["feature_weight"].abs().max().item<double>(), 0.0);
  EXPECT_EQ(stacked->named_parameters()["feature_gate_weight"].abs().max().item<double>(), 0.0);
}

void expect_causal(int64_t hidden, bool read_z, int64_t features = 0) {
  // The Jacobian d v / d x, by autograd, is strictly lower triangular in
  // raster order (channel-major), and not zero below the diagonal; d v / d
  // output is diagonal: pixel i reads the code through output_i alone.
  const int64_t channels = 2, h = 5, w = 4, pixels = channels * h * w;
  PixelContext context = random_context(channels, 3, 2, hidden, read_z, features, 3);
  const torch::Tensor x = torch::rand({1, channels, h, w}, torch::requires_grad());
  const torch::Tensor output = torch::randn({1, channels, h, w}, torch::requires_grad());
  const torch::Tensor v = context->forward(x, output).reshape({pixels});
  torch::Tensor jacobian = torch::zeros({pixels, pixels});
  torch::Tensor by_output = torch::zeros({pixels, pixels});
  for (int64_t i = 0; i < pixels; ++i) {
    const auto g = torch::autograd::grad({v[i]}, {x, output}, {}, true, false, true);
    if (g[0].defined()) jacobian[i] = g[0].reshape({pixels});
    by_output[i] = g[1].reshape({pixels});
  }
  EXPECT_EQ(jacobian.triu().abs().max().item<double>(), 0.0);
  // The left neighbour is always read: pixel (0, 1, 1) reads (0, 1, 0).
  EXPECT_NE(jacobian[w + 1][w].item<double>(), 0.0);
  // No pixel reads the other channel.
  EXPECT_EQ(jacobian.narrow(0, h * w, h * w).narrow(1, 0, h * w).abs().max().item<double>(), 0.0);
  const torch::Tensor diagonal = by_output.diagonal();
  EXPECT_EQ((by_output - torch::diag(diagonal)).abs().max().item<double>(), 0.0);
  // Gates that read z scale the code's pull: d v_i / d output_i is not 1.
  if (read_z) {
    EXPECT_GT((diagonal - 1).abs().max().item<double>(), 0.01);
  } else {
    EXPECT_EQ((diagonal - 1).abs().max().item<double>(), 0.0);
  }
}

TEST(PixelContext, EachOffsetReadsOnlyEarlierPixelsOfItsChannel) {
  expect_causal(0, false);
}
TEST_P(GatedUnits, ReadOnlyEarlierPixelsOfTheirChannel) {
  expect_causal(3, GetParam());
}
TEST_P(GatedUnits, ReadOnlyEarlierPixelsThroughTheFirstLayer) {
  expect_causal(3, GetParam(), 2);
}

// A 3 x 3 Bernoulli decoder with an autoregressive part: its 512 images.
struct TinyDecoder {
  Decoder decoder;
  torch::Tensor output;  // one code's decoder output [1, 1, 3, 3]
  torch::Tensor images;  // every binary image [512, 1, 3, 3]
  torch::Tensor log_p;   // log p(x|z) of each [512], float64
};

TinyDecoder tiny_decoder(int64_t hidden, bool read_z, int64_t features) {
  torch::manual_seed(3);
  Decoder decoder(DecoderOptions()
                      .height(3)
                      .width(3)
                      .hidden({8})
                      .latent_dim(2)
                      .autoregressive_kernel(3)
                      .autoregressive_hidden(hidden)
                      .autoregressive_gates_read_z(read_z)
                      .autoregressive_features(features)
                      .autoregressive_feature_kernel(3));
  decoder->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : decoder->context()->named_parameters())
      p.value().normal_(0.0, 2.0);
  }
  const torch::Tensor output = decoder->forward(torch::randn({1, 2}, torch::kFloat64)).detach();
  const torch::Tensor codes = torch::arange(512);
  const torch::Tensor bits = torch::arange(9).flip(0);
  const torch::Tensor images = codes.unsqueeze(1)
                                   .bitwise_right_shift(bits)
                                   .bitwise_and(1)
                                   .to(torch::kFloat64)
                                   .view({512, 1, 3, 3});
  torch::NoGradGuard no_grad;
  const torch::Tensor log_p = decoder->log_likelihood(images, output.expand({512, 1, 3, 3}));
  return {decoder, output, images, log_p};
}

// (hidden units, whether their gates read z, the first layer's features)
class TinyDecoders : public ::testing::TestWithParam<std::tuple<int64_t, bool, int64_t>> {
 protected:
  TinyDecoder make() const {
    return tiny_decoder(std::get<0>(GetParam()), std::get<1>(GetParam()), std::get<2>(GetParam()));
  }
};
INSTANTIATE_TEST_SUITE_P(LinearAndGated, TinyDecoders,
                         ::testing::Values(std::make_tuple(0, false, 0),
                                           std::make_tuple(3, false, 0),
                                           std::make_tuple(3, true, 0),
                                           std::make_tuple(3, false, 2),
                                           std::make_tuple(3, true, 2)));

TEST_P(TinyDecoders, TheDecodersDensitySumsToOne) {
  const TinyDecoder t = make();
  EXPECT_NEAR(t.log_p.exp().sum().item<double>(), 1.0, 1e-12);
  // and it is not the factorised one: the pixels depend on each other.
  const torch::Tensor factorised =
      t.decoder->options().likelihood()->log_prob(t.images, t.output.expand({512, 1, 3, 3}), {});
  EXPECT_GT((t.log_p - factorised).abs().max().item<double>(), 0.1);
}

TEST_P(TinyDecoders, DrawsFollowTheDensity) {
  // 40,000 draws of the 9 pixels, pixel by pixel: each image's frequency
  // within 5 standard errors of its probability. Images expected fewer than
  // 5 times are pooled into one cell (the normal approximation fails for
  // them: one draw of an image of probability 4e-7 is 8 "standard errors").
  const TinyDecoder t = make();
  const int64_t n = 40000;
  auto generator = at::detail::createCPUGenerator(7);
  const torch::Tensor draws = t.decoder->sample(t.output.expand({n, 1, 3, 3}), generator);
  const torch::Tensor bits = torch::arange(9).flip(0);
  const torch::Tensor index = (draws.view({n, 9}).to(torch::kLong) * torch::pow(2, bits)).sum(1);
  const torch::Tensor counts = torch::bincount(index, {}, 512).to(torch::kFloat64);
  const torch::Tensor p = t.log_p.exp();
  const torch::Tensor rare = p * n < 5.0;
  const torch::Tensor cell_p =
      torch::cat({p.masked_select(rare.logical_not()), p.masked_select(rare).sum().view({1})});
  const torch::Tensor cell_counts = torch::cat(
      {counts.masked_select(rare.logical_not()), counts.masked_select(rare).sum().view({1})});
  const torch::Tensor se = (cell_p * (1 - cell_p) / n).sqrt();
  const torch::Tensor z = (cell_counts / n - cell_p).abs() / se.clamp_min(1e-12);
  EXPECT_LT(z.max().item<double>(), 5.0);
  EXPECT_GT(cell_p.size(0), 100);  // most images are tested one by one
}

TEST_P(TinyDecoders, MeanFieldImageFeedsMeansForward) {
  const TinyDecoder t = make();
  const torch::Tensor mean = t.decoder->mean(t.output);
  // By hand: pixel by pixel, sigmoid(v) with v read from the means so far.
  torch::Tensor values = torch::zeros({1, 1, 3, 3}, torch::kFloat64);
  for (int64_t i = 0; i < 9; ++i) {
    const torch::Tensor v = t.decoder->context()->forward(values, t.output).view({9})[i];
    values.view({9})[i] = torch::sigmoid(v).detach();
  }
  EXPECT_LT((mean - values).abs().max().item<double>(), 1e-12);
  // With zero weights, the factorised mean.
  PixelContext zero(1, 3);
  zero->to(torch::kFloat64);
  const torch::Tensor plain =
      zero->unroll(t.output, [](const torch::Tensor& v) { return torch::sigmoid(v); });
  EXPECT_LT((plain - torch::sigmoid(t.output)).abs().max().item<double>(), 1e-15);
}

TEST(PixelContext, RejectsEvenOrTinyWindows) {
  EXPECT_THROW(PixelContext(1, 4), std::exception);
  EXPECT_THROW(PixelContext(1, 1), std::exception);
  EXPECT_THROW(PixelContext(1, 3, -1), std::exception);
  EXPECT_THROW(PixelContext(1, 3, 1025), std::exception);
  EXPECT_THROW(PixelContext(PixelContextOptions(1, 3).gates_read_z(true)), std::exception);
  EXPECT_THROW(PixelContext(PixelContextOptions(1, 3).features(2)), std::exception);
  EXPECT_THROW(PixelContext(PixelContextOptions(1, 3).hidden(2).features(-1)), std::exception);
  EXPECT_THROW(PixelContext(PixelContextOptions(1, 3).hidden(2).features(1025)), std::exception);
  EXPECT_THROW(PixelContext(PixelContextOptions(1, 3).hidden(2).features(2).feature_kernel(4)),
               std::exception);
  EXPECT_THROW(PixelContext(PixelContextOptions(1, 3).hidden(2).features(2).feature_kernel(-1)),
               std::exception);
  EXPECT_NO_THROW(PixelContext(PixelContextOptions(1, 3).hidden(2).features(2).feature_kernel(1)));
}

}  // namespace
}  // namespace vae
