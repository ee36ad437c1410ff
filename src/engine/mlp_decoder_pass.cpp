#include "vae/engine/mlp_decoder_pass.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "vae/engine/layer_pattern.h"
#include "vae/engine/likelihood_rows.h"
#include "vae/runtime/error.h"
#include "vae/runtime/fast_math.h"

namespace vae {
namespace {

// Rows per block: a block's output (512 x 784 floats, 1.6 MB) stays in a
// core's L2 cache between its product and the loss pass.
constexpr int64_t kBlock = 512;

}  // namespace

bool MlpDecoderPass::covers(const VAE& model) {
  const NetworkOptions& o = model->options();
  const std::string likelihood = o.likelihood()->name();
  if (likelihood != "bernoulli" && likelihood != "gaussian") return false;
  if (!layers_are(model->decoder->body(), "", "LR", "LU")) return false;
  for (const auto& p : model->decoder->parameters()) {
    if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat32) return false;
  }
  return true;
}

MlpDecoderPass::MlpDecoderPass(const VAE& model, GemmBackend gemm) : model_(model), gemm_(gemm) {
  if (!covers(model_)) {
    throw Error(
        "internal: the decoder pass covers fully connected float32 decoders on the CPU with "
        "Bernoulli or Gaussian pixels");
  }
  for (const auto& module : model_->decoder->body()->modules(/*include_self=*/false)) {
    if (const auto* linear = module->as<torch::nn::LinearImpl>()) {
      layers_.push_back({linear->weight, linear->bias});
    }
  }
  latent_ = layers_.front().weight.size(1);
  pixels_ = layers_.back().weight.size(0);
  gaussian_ = std::string(model_->options().likelihood()->name()) == "gaussian";
}

torch::Tensor MlpDecoderPass::log_likelihood(const torch::Tensor& x, const torch::Tensor& z) {
  const torch::NoGradGuard no_grad;
  const int64_t rows = z.size(0);
  if (z.dim() != 2 || z.size(1) < latent_ || x.size(0) != rows || x.numel() != rows * pixels_) {
    throw Error("internal: MlpDecoderPass::log_likelihood: codes [R, >= " +
                std::to_string(latent_) + "] and images [R, " + std::to_string(pixels_) + "]");
  }
  const torch::Tensor g0 = z.to(torch::kFloat32).narrow(1, 0, latent_).contiguous();
  const torch::Tensor xs = x.to(torch::kFloat32).reshape({rows, pixels_}).contiguous();
  torch::Tensor out = torch::empty({rows}, g0.options());
  // The autoregressive window's terms of the rows' images, if any
  // (model/pixel_context.h), computed once per run of equal consecutive
  // images (the evaluation repeats each image for its k codes): row r reads
  // row offset_row[r] of `offsets` [D, pixels] and, when the gates read z,
  // of `gates` [D, C, 2, H', H, W].
  const PixelContext& context = model_->decoder->context();
  torch::Tensor offsets, gates;
  std::vector<int64_t> offset_row;
  if (!context.is_empty()) {
    const float* px0 = xs.data_ptr<float>();
    std::vector<int64_t> firsts;
    offset_row.resize(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      if (r == 0 || std::memcmp(px0 + r * pixels_, px0 + (r - 1) * pixels_,
                                static_cast<size_t>(pixels_) * sizeof(float)) != 0)
        firsts.push_back(r);
      offset_row[static_cast<size_t>(r)] = static_cast<int64_t>(firsts.size()) - 1;
    }
    const NetworkOptions& o = model_->options();
    const torch::Tensor distinct = xs.index_select(0, torch::tensor(firsts));
    const PixelContextImpl::WindowTerms terms =
        context->window_terms(distinct.view({-1, o.in_channels(), o.height(), o.width()}));
    offsets = terms.offset.reshape({-1, pixels_}).contiguous();
    if (terms.gates.defined()) gates = terms.gates.contiguous();
  }
  const float* poff = offsets.defined() ? offsets.data_ptr<float>() : nullptr;
  const float* pgates = gates.defined() ? gates.data_ptr<float>() : nullptr;
  // The gates' logit weights [C, 2, H'] and output weights [C, H'].
  torch::Tensor logit_weight, out_weight;
  if (pgates) {
    logit_weight = context->logit_weight().detach().to(torch::kFloat32).contiguous();
    out_weight = context->out_weight().detach().to(torch::kFloat32).contiguous();
  }
  const float* plogit = pgates ? logit_weight.data_ptr<float>() : nullptr;
  const float* pout = pgates ? out_weight.data_ptr<float>() : nullptr;
  const int64_t units = pgates ? context->hidden() : 0;
  const int64_t channels = model_->options().in_channels(), plane = pixels_ / channels;
  // With gates, the loss pass finds the output bias already in y.
  const std::vector<float> no_bias(pgates ? static_cast<size_t>(pixels_) : 0, 0.0f);
  // Gaussian: inverse variances per pixel and the constant terms per row.
  torch::Tensor inv_var;
  double constant = 0.0;
  if (gaussian_) {
    const torch::Tensor ls =
        model_->decoder->log_sigma().detach().to(torch::kFloat32).reshape({-1}).expand({pixels_});
    inv_var = torch::exp(-2.0 * ls).contiguous();
    constant = -(ls.to(torch::kFloat64).sum().item<double>() +
                 static_cast<double>(pixels_) * 0.5 * std::log(2.0 * M_PI));
  }
  // One set of buffers per thread (the thread count may have changed).
  while (buffers_.size() < static_cast<size_t>(at::get_num_threads())) {
    std::vector<torch::Tensor> buffer;
    for (const Layer& layer : layers_)
      buffer.push_back(torch::empty({kBlock, layer.weight.size(0)}, layer.weight.options()));
    buffers_.push_back(std::move(buffer));
  }
  const float* px = xs.data_ptr<float>();
  float* po = out.data_ptr<float>();
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    std::vector<torch::Tensor>& buffer = buffers_[static_cast<size_t>(at::get_thread_num())];
    std::vector<float> gated(pgates ? static_cast<size_t>(plane) : 0);
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = b * kBlock, m = std::min(kBlock, rows - begin);
      torch::Tensor g = g0.narrow(0, begin, m);
      for (size_t l = 0; l < layers_.size(); ++l) {
        const torch::Tensor next = buffer[l].narrow(0, 0, m);
        gemm_out(gemm_, next, g, layers_[l].weight.t());
        if (l + 1 < layers_.size()) {
          // g_l = relu(g_{l-1} V_l^T + c_l), in place.
          float* p = next.data_ptr<float>();
          const float* c = layers_[l].bias.data_ptr<float>();
          const int64_t width = next.size(1);
          for (int64_t i = 0; i < m; ++i) {
            float* row = p + i * width;
#pragma omp simd
            for (int64_t j = 0; j < width; ++j)
              row[j] = std::max(row[j] + c[j], 0.0f);
          }
        }
        g = next;
      }
      // The loss pass over y's rows, with the output bias c_o (and the
      // autoregressive offsets, added to y in place).
      float* y = g.data_ptr<float>();
      const float* c = pgates ? no_bias.data() : layers_.back().bias.data_ptr<float>();
      for (int64_t i = 0; i < m; ++i) {
        const float* xi = px + (begin + i) * pixels_;
        float* yi = y + i * pixels_;
        if (poff) {
          const float* oi = poff + offset_row[static_cast<size_t>(begin + i)] * pixels_;
#pragma omp simd
          for (int64_t j = 0; j < pixels_; ++j)
            yi[j] += oi[j];
        }
        if (pgates) {
          // l = y + c_o + the window sum: the logit the gates read; then
          // v = l + sum_h u_h tanh(a_h + g_h l) sigmoid(b_h + g'_h l) per
          // channel, a and b the image's window terms.
          const float* co = layers_.back().bias.data_ptr<float>();
#pragma omp simd
          for (int64_t j = 0; j < pixels_; ++j)
            yi[j] += co[j];
          const float* gi =
              pgates + offset_row[static_cast<size_t>(begin + i)] * 2 * units * pixels_;
          for (int64_t ch = 0; ch < channels; ++ch) {
            float* l = yi + ch * plane;
            float* acc = gated.data();
            std::fill(gated.begin(), gated.end(), 0.0f);
            for (int64_t h = 0; h < units; ++h) {
              const float* a = gi + ((ch * 2) * units + h) * plane;
              const float* b = gi + ((ch * 2 + 1) * units + h) * plane;
              const float ga = plogit[(ch * 2) * units + h], gb = plogit[(ch * 2 + 1) * units + h],
                          u = pout[ch * units + h];
#pragma omp simd
              for (int64_t j = 0; j < plane; ++j)
                acc[j] += u * fast_math::tanh_times_sigmoid(a[j] + ga * l[j], b[j] + gb * l[j]);
            }
#pragma omp simd
            for (int64_t j = 0; j < plane; ++j)
              l[j] += acc[j];
          }
        }
        po[begin + i] =
            gaussian_ ? static_cast<float>(gaussian_row_log_prob_quadratic(
                                               xi, yi, c, inv_var.data_ptr<float>(), pixels_) +
                                           constant)
                      : bernoulli_row_log_prob(xi, yi, c, pixels_);
      }
    }
  });
  return out;
}

}  // namespace vae
