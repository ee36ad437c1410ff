#include "vae/model/iaf_flow_pass.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "vae/engine/gemm.h"
#include "vae/runtime/error.h"
#include "vae/runtime/fast_math.h"

namespace vae {
namespace {

// Rows per block: the block's z, hidden and [m, s] (256 x (20 + 128 + 40)
// floats at the defaults, 190 KB) stay in a core's L2 cache across the steps.
constexpr int64_t kBlock = 256;

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream text;
  text << t.sizes();  // "[4, 8]"
  return text.str();
}

// The step's tensors as contiguous float32, checked against D and the rows.
IafStepTensors checked_step(const IafStepTensors& step, int64_t d, int64_t rows) {
  const auto f32 = [](const torch::Tensor& t) {
    return t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  };
  IafStepTensors out{f32(step.in_weight), f32(step.in_bias), f32(step.context),
                     f32(step.out_weight), f32(step.out_bias)};
  const int64_t h = out.in_weight.dim() == 2 ? out.in_weight.size(0) : -1;
  const bool fits = h > 0 && out.in_weight.size(1) == d && out.in_bias.dim() == 1 &&
                    out.in_bias.size(0) == h && out.context.dim() == 2 &&
                    out.context.size(1) == h && out.context.size(0) > 0 &&
                    rows % out.context.size(0) == 0 && out.out_weight.dim() == 2 &&
                    out.out_weight.size(0) == 2 * d && out.out_weight.size(1) == h &&
                    out.out_bias.dim() == 1 && out.out_bias.size(0) == 2 * d;
  if (!fits) {
    throw Error("internal: iaf_flow_pass: " + std::to_string(rows) + " codes of " +
                std::to_string(d) + " latents, weights " + shape_of(out.in_weight) + " " +
                shape_of(out.in_bias) + " " + shape_of(out.out_weight) + " " +
                shape_of(out.out_bias) + ", context " + shape_of(out.context));
  }
  return out;
}

}  // namespace

bool iaf_flow_pass_covers(const torch::Tensor& z) {
  return !torch::GradMode::is_enabled() && z.device().is_cpu() &&
         z.scalar_type() == torch::kFloat32 && z.dim() >= 1 && z.size(-1) > 0;
}

torch::Tensor iaf_flow_pass(const torch::Tensor& z0, const std::vector<IafStepTensors>& steps,
                            torch::Tensor* log_det) {
  const torch::NoGradGuard no_grad;
  const int64_t d = z0.size(-1), rows = z0.numel() / std::max<int64_t>(d, 1);
  std::vector<IafStepTensors> step_tensors;
  int64_t widest = 1;
  for (const IafStepTensors& step : steps) {
    step_tensors.push_back(checked_step(step, d, rows));
    widest = std::max(widest, step_tensors.back().in_weight.size(0));
  }
  // The codes, updated in place block by block.
  torch::Tensor z = z0.to(torch::kFloat32).reshape({rows, d}).clone(at::MemoryFormat::Contiguous);
  torch::Tensor sums = torch::zeros({rows}, z.options());
  const GemmBackend gemm = resolve_gemm(GemmChoice::kAuto);
  float* pz = z.data_ptr<float>();
  float* psum = sums.data_ptr<float>();
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    const torch::Tensor hidden_buffer = torch::empty({kBlock, widest}, z.options());
    const torch::Tensor out_buffer = torch::empty({kBlock, 2 * d}, z.options());
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = b * kBlock, m = std::min(kBlock, rows - begin);
      const torch::Tensor zb = z.narrow(0, begin, m);
      for (const IafStepTensors& step : step_tensors) {
        const int64_t h = step.in_weight.size(0);
        const int64_t per_image = rows / step.context.size(0);
        const torch::Tensor hidden = hidden_buffer.narrow(0, 0, m).narrow(1, 0, h);
        gemm_out(gemm, hidden, zb, step.in_weight.t());
        // hidden = relu(z W_in^T + b_in + c), in place.
        const float* bias = step.in_bias.data_ptr<float>();
        const float* context = step.context.data_ptr<float>();
        float* ph = hidden.data_ptr<float>();
        const int64_t stride = hidden.stride(0);
        for (int64_t i = 0; i < m; ++i) {
          float* row = ph + i * stride;
          const float* c = context + ((begin + i) / per_image) * h;
#pragma omp simd
          for (int64_t j = 0; j < h; ++j)
            row[j] = std::max(row[j] + bias[j] + c[j], 0.0f);
        }
        const torch::Tensor out = out_buffer.narrow(0, 0, m);
        gemm_out(gemm, out, hidden, step.out_weight.t());
        // z = sigma z + (1 - sigma) m, sigma = sigmoid(s); log sigma =
        // min(s, 0) - log(1 + e^{-|s|}).
        const float* bm = step.out_bias.data_ptr<float>();
        const float* bs = bm + d;
        const float* po = out.data_ptr<float>();
        for (int64_t i = 0; i < m; ++i) {
          float* zr = pz + (begin + i) * d;
          const float* mr = po + i * 2 * d;
          const float* sr = mr + d;
          float log_sigma = 0.0f;
#pragma omp simd reduction(+ : log_sigma)
          for (int64_t j = 0; j < d; ++j) {
            const float s = sr[j] + bs[j];
            const float e = fast_math::exp_minus(std::fabs(s));
            const float gate = (s >= 0.0f ? 1.0f : e) / (1.0f + e);
            zr[j] = gate * zr[j] + (1.0f - gate) * (mr[j] + bm[j]);
            log_sigma += std::min(s, 0.0f) - fast_math::log1p_unit(e);
          }
          psum[begin + i] += log_sigma;
        }
      }
    }
  });
  if (log_det != nullptr) *log_det = sums.view(z0.sizes().slice(0, z0.dim() - 1));
  return z.view(z0.sizes());
}

}  // namespace vae
