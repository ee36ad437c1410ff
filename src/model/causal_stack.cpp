#include "vae/model/causal_stack.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "vae/engine/gemm.h"
#include "vae/runtime/error.h"
#include "vae/runtime/fast_math.h"

namespace vae {

namespace {

// One kept tap of a causal mask: its offset from the pixel and its place in
// the flattened K x K kernel.
struct Tap {
  int64_t dr, dc, index;
};

// The taps of PixelCNN's mask A (rows above the centre, then the centre row
// left of it), with `centre` mask B's (the centre too), in raster order:
// the same set as pixel_context.cpp's causal_mask().
std::vector<Tap> causal_taps(int64_t size, bool centre) {
  const int64_t half = size / 2;
  std::vector<Tap> taps;
  for (int64_t dr = -half; dr <= 0; ++dr) {
    for (int64_t dc = -half; dc <= half; ++dc) {
      if (dr < 0 || dc < 0 || (centre && dc == 0))
        taps.push_back({dr, dc, (dr + half) * size + dc + half});
    }
  }
  return taps;
}

torch::Tensor tap_indices(const std::vector<Tap>& taps) {
  std::vector<int64_t> index;
  for (const Tap& t : taps)
    index.push_back(t.index);
  return torch::tensor(index, torch::kLong);
}

// Sizes of one call: images N, channels C, image H x W (P pixels), the
// gates' rows 2H' and the features F per channel, and the rows of the
// first product per channel, O = 1 (the linear window) + 2H' + 2F.
struct Dims {
  int64_t images, channels, height, width, pixels, gate_rows, features, rows;
};

// The elementwise loops below are cloned for AVX-512 and AVX2 (picked at
// load time by the CPU), as the engine's likelihood loops are: compiled
// for the baseline x86-64 alone they run on 4-wide SSE.
#define VAE_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// f = tanh(c) sigmoid(d) over n values, keeping t = tanh(c) and
// s = sigmoid(d) when asked (t, s may be null).
VAE_VECTOR_CLONES void gate_values(const float* c, const float* d, int64_t n, float* f, float* t,
                                   float* s) {
  if (t == nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j)
      f[j] = fast_math::tanh_times_sigmoid(c[j], d[j]);
    return;
  }
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    t[j] = fast_math::tanh(c[j]);
    s[j] = fast_math::sigmoid(d[j]);
    f[j] = t[j] * s[j];
  }
}

// Through f = t s, t = tanh(c), s = sigmoid(d):
//   dL/dc = dL/df s (1 - t^2)    dL/dd = dL/df t s (1 - s)
VAE_VECTOR_CLONES void gate_gradients(const float* t, const float* s, const float* df, int64_t n,
                                      float* dc, float* dd) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    dc[j] = df[j] * s[j] * (1.0f - t[j] * t[j]);
    dd[j] = df[j] * t[j] * s[j] * (1.0f - s[j]);
  }
}

VAE_VECTOR_CLONES void add_to(const float* src, int64_t n, float* dst) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    dst[j] += src[j];
}

// The columns of one image channel for its taps (im2col): cols [T, P],
// row t = the channel shifted by tap t, zero where the tap leaves the image.
void gather(const float* image, const Dims& d, const std::vector<Tap>& taps, float* cols) {
  const int64_t h = d.height, w = d.width;
  for (size_t t = 0; t < taps.size(); ++t) {
    const int64_t dr = taps[t].dr, dc = taps[t].dc;
    const int64_t lo = std::max<int64_t>(0, -dc), hi = std::min(w, w - dc);
    for (int64_t r = 0; r < h; ++r) {
      float* dst = cols + static_cast<int64_t>(t) * d.pixels + r * w;
      if (r + dr < 0) {
        std::fill(dst, dst + w, 0.0f);
        continue;
      }
      const float* src = image + (r + dr) * w;
      std::fill(dst, dst + lo, 0.0f);
      std::copy(src + lo + dc, src + hi + dc, dst + lo);
      std::fill(dst + hi, dst + w, 0.0f);
    }
  }
}

// gather()'s adjoint: image += the columns' values at the pixels they read.
void scatter_add(const float* cols, const Dims& d, const std::vector<Tap>& taps, float* image) {
  const int64_t h = d.height, w = d.width;
  for (size_t t = 0; t < taps.size(); ++t) {
    const int64_t dr = taps[t].dr, dc = taps[t].dc;
    const int64_t lo = std::max<int64_t>(0, -dc), hi = std::min(w, w - dc);
    for (int64_t r = std::max<int64_t>(0, -dr); r < h; ++r) {
      const float* src = cols + static_cast<int64_t>(t) * d.pixels + r * w;
      add_to(src + lo, hi - lo, image + (r + dr) * w + lo + dc);
    }
  }
}

// Row pointers of one image channel's pre-activations A [O, P]: the linear
// window, then the gates' 2H' rows, then the features' c rows and d rows.
template <typename T>
struct Rows {
  T* linear;
  T* gates;
  T* tanh_terms;
  T* sigmoid_terms;
};

template <typename T>
Rows<T> rows_of(T* a, const Dims& d) {
  T* gates = a + d.pixels;
  T* tanh_terms = gates + d.gate_rows * d.pixels;
  return {a, gates, tanh_terms, tanh_terms + d.features * d.pixels};
}

// cols_f [F T_B, P]: the features' columns, feature by feature.
void gather_features(const float* f, const Dims& d, const std::vector<Tap>& taps, float* cols) {
  const int64_t block = static_cast<int64_t>(taps.size()) * d.pixels;
  for (int64_t j = 0; j < d.features; ++j)
    gather(f + j * d.pixels, d, taps, cols + j * block);
}

// The masked weights gathered per channel: wx [C, O, T_A] (the linear
// window's row, the gates' rows, the features' rows) and wf [C, 2H', F T_B]
// (column f T_B + t: feature f at tap t).
torch::Tensor gather_x_weights(const Dims& d, const torch::Tensor& taps,
                               const torch::Tensor& weight, const torch::Tensor& gate_weight,
                               const torch::Tensor& feature_weight) {
  const int64_t c = d.channels;
  const auto flat = [&](const torch::Tensor& w) {
    return w.reshape({c, w.size(0) / c, w.size(2) * w.size(3)}).index_select(2, taps);
  };
  return torch::cat({flat(weight), flat(gate_weight), flat(feature_weight)}, 1).contiguous();
}

torch::Tensor gather_f_weights(const Dims& d, const torch::Tensor& taps,
                               const torch::Tensor& feature_gate_weight) {
  const int64_t size = feature_gate_weight.size(2) * feature_gate_weight.size(3);
  return feature_gate_weight.reshape({d.channels, d.gate_rows, d.features, size})
      .index_select(3, taps)
      .reshape({d.channels, d.gate_rows, -1})
      .contiguous();
}

// The inverse of gather_x_weights()/gather_f_weights() for gradients: the
// taps' values at their places in zero kernels of `like`'s shape.
torch::Tensor scatter_taps(const torch::Tensor& values, const torch::Tensor& taps,
                           const torch::Tensor& like) {
  const int64_t size = like.size(2) * like.size(3);
  torch::Tensor full = torch::zeros({like.size(0), like.size(1), size}, values.options());
  full.index_copy_(2, taps, values.reshape({like.size(0), like.size(1), taps.size(0)}));
  return full.view(like.sizes());
}

struct CausalStack : torch::autograd::Function<CausalStack> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& x, const torch::Tensor& weight,
                                                const torch::Tensor& gate_weight,
                                                const torch::Tensor& feature_weight,
                                                const torch::Tensor& feature_gate_weight) {
    const Dims d = dims_of(x, gate_weight, feature_gate_weight);
    const std::vector<Tap> taps_a = causal_taps(weight.size(2), false),
                           taps_b = causal_taps(feature_gate_weight.size(2), true);
    const torch::Tensor xc = x.contiguous();
    const torch::Tensor wx =
        gather_x_weights(d, tap_indices(taps_a), weight, gate_weight, feature_weight);
    const torch::Tensor wf = gather_f_weights(d, tap_indices(taps_b), feature_gate_weight);
    const int64_t ta = wx.size(2), ft = wf.size(2), p = d.pixels;
    // The pre-activations [N, C, O, P], kept for the backward pass.
    torch::Tensor a = torch::empty({d.images, d.channels, d.rows, p}, xc.options());
    torch::Tensor linear = torch::empty({d.images, d.channels, d.height, d.width}, xc.options());
    torch::Tensor gates =
        torch::empty({d.images, d.channels * d.gate_rows, d.height, d.width}, xc.options());
    const GemmBackend gemm = resolve_gemm(GemmChoice::kAuto);
    const int64_t o = d.rows, h2 = d.gate_rows;
    const float *px = xc.data_ptr<float>(), *pwx = wx.data_ptr<float>(),
                *pwf = wf.data_ptr<float>();
    float *pa = a.data_ptr<float>(), *plinear = linear.data_ptr<float>(),
          *pgates = gates.data_ptr<float>();
    at::parallel_for(0, d.images, 1, [&](int64_t first, int64_t last) {
      std::vector<float> cols_x(static_cast<size_t>(ta * p)),
          f(static_cast<size_t>(d.features * p)), cols_f(static_cast<size_t>(ft * p));
      for (int64_t i = first; i < last; ++i) {
        for (int64_t c = 0; c < d.channels; ++c) {
          const int64_t ic = i * d.channels + c;
          // A [O, P] = wx_c [O, T_A] cols_x [T_A, P]
          gather(px + ic * p, d, taps_a, cols_x.data());
          float* aic = pa + ic * o * p;
          gemm_raw(gemm, 'N', 'N', o, p, ta, 1.0f, pwx + c * o * ta, ta, cols_x.data(), p, 0.0f,
                   aic, p);
          const Rows<const float> rows = rows_of<const float>(aic, d);
          std::copy(rows.linear, rows.linear + p, plinear + ic * p);
          // gates [2H', P] = A's gate rows + wf_c [2H', F T_B] cols_f [F T_B, P]
          gate_values(rows.tanh_terms, rows.sigmoid_terms, d.features * p, f.data(), nullptr,
                      nullptr);
          gather_features(f.data(), d, taps_b, cols_f.data());
          float* g = pgates + ic * h2 * p;
          std::copy(rows.gates, rows.gates + h2 * p, g);
          gemm_raw(gemm, 'N', 'N', h2, p, ft, 1.0f, pwf + c * h2 * ft, ft, cols_f.data(), p, 1.0f,
                   g, p);
        }
      }
    });
    ctx->save_for_backward(
        {xc, wx, wf, a, weight, gate_weight, feature_weight, feature_gate_weight});
    return {linear, gates};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &xc = saved[0], &wx = saved[1], &wf = saved[2], &a = saved[3];
    const torch::Tensor &weight = saved[4], &gate_weight = saved[5], &feature_weight = saved[6],
                        &feature_gate_weight = saved[7];
    const Dims d = dims_of(xc, gate_weight, feature_gate_weight);
    const std::vector<Tap> taps_a = causal_taps(weight.size(2), false),
                           taps_b = causal_taps(feature_gate_weight.size(2), true);
    const int64_t ta = wx.size(2), ft = wf.size(2), p = d.pixels;
    const torch::Tensor glinear =
        grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(xc);
    const torch::Tensor ggates =
        grads[1].defined()
            ? grads[1].contiguous()
            : torch::zeros({d.images, d.channels * d.gate_rows, d.height, d.width}, xc.options());
    const bool want_x = ctx->needs_input_grad(0);
    torch::Tensor dx = want_x ? torch::zeros_like(xc) : torch::Tensor();
    // The weights' gradients, one slot per thread, added in thread order.
    const int64_t slots = at::get_num_threads();
    torch::Tensor dwx = torch::zeros({slots, d.channels, d.rows, ta}, xc.options());
    torch::Tensor dwf = torch::zeros({slots, d.channels, d.gate_rows, ft}, xc.options());
    const GemmBackend gemm = resolve_gemm(GemmChoice::kAuto);
    const int64_t o = d.rows, h2 = d.gate_rows, tb = static_cast<int64_t>(taps_b.size());
    const float *px = xc.data_ptr<float>(), *pwx = wx.data_ptr<float>(),
                *pwf = wf.data_ptr<float>(), *pa = a.data_ptr<float>(),
                *pglinear = glinear.data_ptr<float>(), *pggates = ggates.data_ptr<float>();
    float *pdx = want_x ? dx.data_ptr<float>() : nullptr, *pdwx = dwx.data_ptr<float>(),
          *pdwf = dwf.data_ptr<float>();
    at::parallel_for(0, d.images, 1, [&](int64_t first, int64_t last) {
      const int64_t slot = at::get_thread_num();
      std::vector<float> cols_x(static_cast<size_t>(ta * p)),
          f(static_cast<size_t>(d.features * p)), cols_f(static_cast<size_t>(ft * p)),
          da(static_cast<size_t>(o * p)), df(static_cast<size_t>(d.features * p)),
          t(static_cast<size_t>(d.features * p)), s(static_cast<size_t>(d.features * p));
      for (int64_t i = first; i < last; ++i) {
        for (int64_t c = 0; c < d.channels; ++c) {
          const int64_t ic = i * d.channels + c;
          const float *wx_c = pwx + c * o * ta, *wf_c = pwf + c * h2 * ft;
          float* dwx_c = pdwx + (slot * d.channels + c) * o * ta;
          float* dwf_c = pdwf + (slot * d.channels + c) * h2 * ft;
          const Rows<const float> rows = rows_of<const float>(pa + ic * o * p, d);
          gate_values(rows.tanh_terms, rows.sigmoid_terms, d.features * p, f.data(), t.data(),
                      s.data());
          gather_features(f.data(), d, taps_b, cols_f.data());
          // dL/dwf_c += dL/dgates cols_f^T; dL/dcols_f = wf_c^T dL/dgates
          const float* gg = pggates + ic * h2 * p;
          gemm_raw(gemm, 'N', 'T', h2, ft, p, 1.0f, gg, p, cols_f.data(), p, 1.0f, dwf_c, ft);
          gemm_raw(gemm, 'T', 'N', ft, p, h2, 1.0f, wf_c, ft, gg, p, 0.0f, cols_f.data(), p);
          std::fill(df.begin(), df.end(), 0.0f);
          for (int64_t j = 0; j < d.features; ++j)
            scatter_add(cols_f.data() + j * tb * p, d, taps_b, df.data() + j * p);
          // dL/dA: the linear row's and the gates' rows as given, the
          // features' c and d rows through f.
          const Rows<float> drows = rows_of<float>(da.data(), d);
          std::copy(pglinear + ic * p, pglinear + (ic + 1) * p, drows.linear);
          std::copy(gg, gg + h2 * p, drows.gates);
          gate_gradients(t.data(), s.data(), df.data(), d.features * p, drows.tanh_terms,
                         drows.sigmoid_terms);
          // dL/dwx_c += dL/dA cols_x^T; dL/dx = scatter(wx_c^T dL/dA)
          gather(px + ic * p, d, taps_a, cols_x.data());
          gemm_raw(gemm, 'N', 'T', o, ta, p, 1.0f, da.data(), p, cols_x.data(), p, 1.0f, dwx_c, ta);
          if (pdx != nullptr) {
            gemm_raw(gemm, 'T', 'N', ta, p, o, 1.0f, wx_c, ta, da.data(), p, 0.0f, cols_x.data(),
                     p);
            scatter_add(cols_x.data(), d, taps_a, pdx + ic * p);
          }
        }
      }
    });
    const torch::Tensor sum_x = dwx.sum(0), sum_f = dwf.sum(0);
    const torch::Tensor index_a = tap_indices(taps_a), index_b = tap_indices(taps_b);
    return {dx, scatter_taps(sum_x.narrow(1, 0, 1), index_a, weight),
            scatter_taps(sum_x.narrow(1, 1, h2), index_a, gate_weight),
            scatter_taps(sum_x.narrow(1, 1 + h2, 2 * d.features), index_a, feature_weight),
            scatter_taps(sum_f, index_b, feature_gate_weight)};
  }

  static Dims dims_of(const torch::Tensor& x, const torch::Tensor& gate_weight,
                      const torch::Tensor& feature_gate_weight) {
    const int64_t channels = x.size(1), gate_rows = gate_weight.size(0) / channels,
                  features = feature_gate_weight.size(1);
    return {x.size(0),
            channels,
            x.size(2),
            x.size(3),
            x.size(2) * x.size(3),
            gate_rows,
            features,
            1 + gate_rows + 2 * features};
  }
};

}  // namespace

bool causal_stack_covers(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32;
}

CausalStackTerms causal_stack_terms(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& gate_weight,
                                    const torch::Tensor& feature_weight,
                                    const torch::Tensor& feature_gate_weight) {
  const auto square_odd = [](const torch::Tensor& w) {
    return w.dim() == 4 && w.size(2) == w.size(3) && w.size(2) % 2 == 1;
  };
  const int64_t c = x.dim() == 4 ? x.size(1) : 0;
  if (x.dim() != 4 || c == 0 || !square_odd(weight) || !square_odd(gate_weight) ||
      !square_odd(feature_weight) || !square_odd(feature_gate_weight) || weight.size(0) != c ||
      weight.size(1) != 1 || gate_weight.size(1) != 1 || feature_weight.size(1) != 1 ||
      gate_weight.sizes().slice(2) != weight.sizes().slice(2) ||
      feature_weight.sizes().slice(2) != weight.sizes().slice(2) ||
      gate_weight.size(0) % (2 * c) != 0 ||
      feature_weight.size(0) != 2 * c * feature_gate_weight.size(1) ||
      feature_gate_weight.size(0) != gate_weight.size(0)) {
    throw Error(
        "internal: causal_stack_terms: x [N, C, H, W], weight [C, 1, K, K], gate_weight "
        "[C * 2H', 1, K, K], feature_weight [C * 2F, 1, K, K], feature_gate_weight "
        "[C * 2H', F, K', K']");
  }
  const auto to_float = [](const torch::Tensor& w) { return w.to(torch::kFloat32); };
  const torch::autograd::variable_list out =
      CausalStack::apply(x, to_float(weight), to_float(gate_weight), to_float(feature_weight),
                         to_float(feature_gate_weight));
  return {out[0], out[1]};
}

}  // namespace vae
