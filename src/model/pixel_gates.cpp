#include "vae/model/pixel_gates.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "vae/runtime/error.h"
#include "vae/runtime/fast_math.h"

namespace vae {

namespace {

// One call's sizes: images N, codes per image, channels C, units H', pixels
// P = H W. Rows R = N * copies.
struct GateDims {
  int64_t images, copies, channels, units, pixels;
};

GateDims dims_of(const torch::Tensor& gates, const torch::Tensor& v) {
  return {gates.size(0), v.size(0) / gates.size(0), gates.size(1), gates.size(3),
          gates.size(4) * gates.size(5)};
}

// Where the window terms of image i, channel c, unit h start: a, then
// `units` rows later b ([N, C, 2, H', P]).
int64_t gate_row(const GateDims& d, int64_t i, int64_t c, int64_t h) {
  return ((i * d.channels + c) * 2 * d.units + h) * d.pixels;
}

// Unit h of channel c: its weights g and g' on the logit ([C, 2, H']) and u
// on its output ([C, H', 1, 1]).
struct UnitWeights {
  float ga, gb, u;
};

UnitWeights unit_weights(const GateDims& d, const float* logit, const float* out, int64_t c,
                         int64_t h) {
  return {logit[c * 2 * d.units + h], logit[(c * 2 + 1) * d.units + h], out[c * d.units + h]};
}

// y [R, C, P] = v + sum_h u_h tanh(a_h) sigmoid(b_h),
// a_h = A_h + g_h v and b_h = B_h + g'_h v (A, B: the row's image's terms).
void gates_forward(const GateDims& d, const float* gates, const float* v, const float* logit,
                   const float* out, float* y) {
  const int64_t units = d.units, pixels = d.pixels;
  at::parallel_for(0, d.images * d.copies, 1, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      const int64_t i = r / d.copies;
      for (int64_t c = 0; c < d.channels; ++c) {
        const float* vr = v + (r * d.channels + c) * pixels;
        float* yr = y + (r * d.channels + c) * pixels;
        std::copy(vr, vr + pixels, yr);
        for (int64_t h = 0; h < units; ++h) {
          const float* a = gates + gate_row(d, i, c, h);
          const float* b = a + units * pixels;
          const UnitWeights w = unit_weights(d, logit, out, c, h);
#pragma omp simd
          for (int64_t j = 0; j < pixels; ++j)
            yr[j] += w.u * fast_math::tanh_times_sigmoid(a[j] + w.ga * vr[j], b[j] + w.gb * vr[j]);
        }
      }
    }
  });
}

// The backward pass, from gy = dL/dy [R, C, P], with t = tanh(a_h) and
// s = sigmoid(b_h) recomputed:
//   dL/da_h = gy u_h s (1 - t^2)      dL/db_h = gy u_h t s (1 - s)
//   dL/dA_h = sum over the image's copies of dL/da_h   (B alike)
//   dL/dv   = gy + sum_h (dL/da_h g_h + dL/db_h g'_h)
//   dL/du_h = sum gy t s    dL/dg_h = sum dL/da_h v    dL/dg'_h = sum dL/db_h v
// Parallel over images (so that dA and dB have one writer each); the
// weights' sums go to one slot per thread, added in thread order after.
void gates_backward(const GateDims& d, const float* gates, const float* v, const float* logit,
                    const float* out, const float* gy, float* dgates, float* dv,
                    std::vector<double>& dlogit_slots, std::vector<double>& dout_slots) {
  const int64_t units = d.units, pixels = d.pixels, weights = d.channels * units;
  at::parallel_for(0, d.images, 1, [&](int64_t first, int64_t last) {
    const int64_t slot = at::get_thread_num();
    double* dlogit = dlogit_slots.data() + slot * 2 * weights;
    double* dout = dout_slots.data() + slot * weights;
    for (int64_t i = first; i < last; ++i) {
      for (int64_t k = 0; k < d.copies; ++k) {
        const int64_t r = i * d.copies + k;
        for (int64_t c = 0; c < d.channels; ++c) {
          const float* vr = v + (r * d.channels + c) * pixels;
          const float* gr = gy + (r * d.channels + c) * pixels;
          float* dvr = dv + (r * d.channels + c) * pixels;
          std::copy(gr, gr + pixels, dvr);
          for (int64_t h = 0; h < units; ++h) {
            const float* a = gates + gate_row(d, i, c, h);
            const float* b = a + units * pixels;
            float* da = dgates + gate_row(d, i, c, h);
            float* db = da + units * pixels;
            const UnitWeights w = unit_weights(d, logit, out, c, h);
            const float ga = w.ga, gb = w.gb, u = w.u;
            float su = 0.0f, sa = 0.0f, sb = 0.0f;
#pragma omp simd reduction(+ : su, sa, sb)
            for (int64_t j = 0; j < pixels; ++j) {
              const float vj = vr[j], g = gr[j];
              const float t = fast_math::tanh(a[j] + ga * vj);
              const float s = fast_math::sigmoid(b[j] + gb * vj);
              const float gu = g * u;
              const float da_j = gu * s * (1.0f - t * t);
              const float db_j = gu * t * s * (1.0f - s);
              su += g * t * s;
              da[j] += da_j;
              db[j] += db_j;
              sa += da_j * vj;
              sb += db_j * vj;
              dvr[j] += da_j * ga + db_j * gb;
            }
            dout[c * units + h] += su;
            dlogit[c * 2 * units + h] += sa;
            dlogit[(c * 2 + 1) * units + h] += sb;
          }
        }
      }
    }
  });
}

// The slots' sums, in thread order, as a float tensor of `sizes`.
torch::Tensor add_slots(const std::vector<double>& slots, int64_t size, at::IntArrayRef sizes) {
  std::vector<double> sum(static_cast<size_t>(size), 0.0);
  for (size_t s = 0; s < slots.size(); ++s)
    sum[s % static_cast<size_t>(size)] += slots[s];
  return torch::tensor(sum, torch::kFloat64).to(torch::kFloat32).view(sizes);
}

struct GatedLogitRead : torch::autograd::Function<GatedLogitRead> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& gates,
                               const torch::Tensor& v, const torch::Tensor& logit_weight,
                               const torch::Tensor& out_weight) {
    const torch::Tensor g = gates.contiguous(), vc = v.contiguous(), lw = logit_weight.contiguous(),
                        ow = out_weight.contiguous();
    ctx->save_for_backward({g, vc, lw, ow});
    torch::Tensor y = torch::empty_like(vc);
    gates_forward(dims_of(g, vc), g.data_ptr<float>(), vc.data_ptr<float>(), lw.data_ptr<float>(),
                  ow.data_ptr<float>(), y.data_ptr<float>());
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &g = saved[0], &v = saved[1], &lw = saved[2], &ow = saved[3];
    const torch::Tensor gy = grads[0].contiguous();
    const GateDims d = dims_of(g, v);
    const int64_t weights = d.channels * d.units, slots = at::get_num_threads();
    torch::Tensor dgates = torch::zeros_like(g), dv = torch::empty_like(v);
    std::vector<double> dlogit(static_cast<size_t>(slots * 2 * weights), 0.0),
        dout(static_cast<size_t>(slots * weights), 0.0);
    gates_backward(d, g.data_ptr<float>(), v.data_ptr<float>(), lw.data_ptr<float>(),
                   ow.data_ptr<float>(), gy.data_ptr<float>(), dgates.data_ptr<float>(),
                   dv.data_ptr<float>(), dlogit, dout);
    return {dgates, dv, add_slots(dlogit, 2 * weights, lw.sizes()),
            add_slots(dout, weights, ow.sizes())};
  }
};

}  // namespace

bool gated_logit_read_covers(const torch::Tensor& gates, const torch::Tensor& v) {
  return gates.device().is_cpu() && v.device().is_cpu() && gates.scalar_type() == torch::kFloat32 &&
         v.scalar_type() == torch::kFloat32;
}

torch::Tensor gated_logit_read(const torch::Tensor& gates, const torch::Tensor& v,
                               const torch::Tensor& logit_weight, const torch::Tensor& out_weight) {
  if (gates.dim() != 6 || v.dim() != 4 || gates.size(2) != 2 || gates.size(0) == 0 ||
      v.size(0) % gates.size(0) != 0 || v.size(1) != gates.size(1) || v.size(2) != gates.size(4) ||
      v.size(3) != gates.size(5) || logit_weight.numel() != 2 * gates.size(1) * gates.size(3) ||
      out_weight.numel() != gates.size(1) * gates.size(3)) {
    throw Error("internal: gated_logit_read: gates [N, C, 2, H', H, W], v [N * copies, C, H, W]");
  }
  return GatedLogitRead::apply(gates, v, logit_weight, out_weight);
}

}  // namespace vae
