#include "vae/engine/mlp_gradient.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "vae/runtime/error.h"
#include "vae/runtime/fast_math.h"

namespace vae {
namespace {

// a <- a + b, or relu(a + b) = max(a + b, 0), for every row of a block of
// columns a [rows, n] (row stride: the full width) with their biases b [n].
void add_bias(const torch::Tensor& a, const float* b, bool relu) {
  const int64_t rows = a.size(0), n = a.size(1), stride = a.stride(0);
  float* pa = a.data_ptr<float>();
  for (int64_t i = 0; i < rows; ++i) {
    float* row = pa + i * stride;
    if (relu) {
      for (int64_t j = 0; j < n; ++j)
        row[j] = std::max(row[j] + b[j], 0.0f);
    } else {
      for (int64_t j = 0; j < n; ++j)
        row[j] += b[j];
    }
  }
}

// The parameter's .grad, allocated on first use and then overwritten.
torch::Tensor& grad_of(const torch::Tensor& p) {
  torch::Tensor& g = const_cast<torch::Tensor&>(p).mutable_grad();
  if (!g.defined() || !g.sizes().equals(p.sizes())) g = torch::empty_like(p);
  return g;
}

// Products in per-thread blocks. Each of the T intra-op threads computes one
// block of a layer's product, calling the GEMM from inside the parallel
// region (where oneDNN and OpenBLAS run on the calling thread alone), and
// finishes its block (bias, ReLU, loss) while it is in that core's cache.
// The step has one parallel region per layer instead of three or four, and
// every elementwise pass runs on all threads. (at::parallel_for splits the
// range only in code compiled with OpenMP: see CMakeLists.txt.)
struct Block {
  int64_t begin, size;
};
Block block_of(int64_t n, int64_t t, int64_t blocks) {
  const int64_t chunk = (n + blocks - 1) / blocks;
  const int64_t begin = std::min(n, t * chunk);
  return {begin, std::min(n, begin + chunk) - begin};
}
template <typename F>
void for_each_thread(const F& f) {
  const int64_t threads = at::get_num_threads();
  // Grad and inference mode are per thread: a worker gets the caller's, so
  // that its LibTorch calls record nothing and may write inference tensors
  // (evaluation's buffers).
  const at::ThreadLocalState caller;
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    const at::ThreadLocalStateGuard same_modes(caller);
    for (int64_t t = begin; t < end; ++t)
      f(t, threads);
  });
}

// y = u W^T for a linear layer into `out` [B, out_features], in blocks of
// output columns; `finish(columns)` runs on each block right after.
template <typename F>
void linear_forward(GemmBackend gemm, const torch::Tensor& weight, const torch::Tensor& input,
                    const torch::Tensor& out, const F& finish) {
  for_each_thread([&](int64_t t, int64_t threads) {
    const Block b = block_of(weight.size(0), t, threads);
    if (b.size == 0) return;
    const torch::Tensor columns = out.narrow(1, b.begin, b.size);
    gemm_out(gemm, columns, input, weight.narrow(0, b.begin, b.size).t());
    finish(columns, b, t);
  });
}

// Gradients of a linear layer y = u W^T + b from delta = dL/dy [B, out]:
//   dL/dW = scale * delta^T u      (blocks of W's rows),
//   dL/db = scale * sum_rows delta (the same blocks),
//   dL/du = scale * delta W        (blocks of rows, into `input_delta`, then
//                                   times the ReLU's derivative [u > 0] when
//                                   u is a ReLU's output),
// the scale riding in the products' alpha instead of a pass of its own.
void linear_backward(GemmBackend gemm, const torch::Tensor& weight, const torch::Tensor& bias,
                     const torch::Tensor& delta, const torch::Tensor& input, double scale,
                     const torch::Tensor* input_delta, bool input_is_relu) {
  torch::Tensor& gw = grad_of(weight);
  torch::Tensor& gb = grad_of(bias);
  const int64_t rows = delta.size(0), cols = delta.size(1);
  const float* pd = delta.data_ptr<float>();
  float* pgb = gb.data_ptr<float>();
  const float s = static_cast<float>(scale);
  for_each_thread([&](int64_t t, int64_t threads) {
    const Block w = block_of(weight.size(0), t, threads);
    if (w.size > 0) {
      // beta = 0: the output's old values are ignored.
      gemm_out(gemm, gw.narrow(0, w.begin, w.size), delta.narrow(1, w.begin, w.size).t(), input, s);
      float* sums = pgb + w.begin;
      std::fill(sums, sums + w.size, 0.0f);
      for (int64_t i = 0; i < rows; ++i) {
        const float* row = pd + i * cols + w.begin;
        for (int64_t j = 0; j < w.size; ++j)
          sums[j] += row[j];
      }
      for (int64_t j = 0; j < w.size; ++j)
        sums[j] *= s;
    }
    if (input_delta == nullptr) return;
    const Block r = block_of(rows, t, threads);
    if (r.size == 0) return;
    const torch::Tensor du = input_delta->narrow(0, r.begin, r.size);
    gemm_out(gemm, du, delta.narrow(0, r.begin, r.size), weight, s);
    if (input_is_relu) {
      // [u > 0]: the ReLU's derivative, read off its output u.
      float* d = du.data_ptr<float>();
      const float* u = input.narrow(0, r.begin, r.size).data_ptr<float>();
      for (int64_t i = 0, n = du.numel(); i < n; ++i)
        d[i] = u[i] > 0.0f ? d[i] : 0.0f;
    }
  });
}

}  // namespace

MlpGradient::MlpGradient(VAE model, GemmBackend gemm) : model_(std::move(model)), gemm_(gemm) {
  if (!covers(model_)) {
    throw Error(
        "internal: the hand-derived gradient covers float32 mlp models (Linear and ReLU layers) "
        "on the CPU with a diagonal Gaussian posterior, N(0, I) prior and Bernoulli or Gaussian "
        "pixels");
  }
  const auto linears = [](const torch::nn::Sequential& body, std::vector<Layer>& out) {
    for (const auto& module : body->modules(/*include_self=*/false)) {
      if (const auto* linear = module->as<torch::nn::LinearImpl>()) {
        out.push_back({linear->weight, linear->bias});
      }
    }
  };
  linears(model_->encoder->body(), encoder_);
  encoder_.push_back({model_->encoder->head()->weight, model_->encoder->head()->bias});
  linears(model_->decoder->body(), decoder_);
  const NetworkOptions& o = model_->options();
  latent_ = o.latent_dim();
  pixels_ = o.input_size();
  if (o.likelihood()->has_scale()) {
    log_sigma_ = model_->decoder->log_sigma();
    learn_sigma_ = o.learn_sigma();
  }
}

void MlpGradient::reserve(int64_t rows) {
  if (rows <= capacity_) return;
  capacity_ = rows;
  const auto buffer = [rows](int64_t cols) { return torch::empty({rows, cols}); };
  // Every layer's output; a delta only for the hidden ones (the head's is
  // stats_delta_, and the decoder's output needs none beyond residual_).
  const auto allocate = [&](const std::vector<Layer>& layers, std::vector<torch::Tensor>& act,
                            std::vector<torch::Tensor>& delta) {
    act.clear();
    delta.clear();
    for (size_t l = 0; l < layers.size(); ++l) {
      act.push_back(buffer(layers[l].weight.size(0)));
      if (l + 1 < layers.size()) delta.push_back(buffer(layers[l].weight.size(0)));
    }
  };
  allocate(encoder_, enc_act_, enc_delta_);
  allocate(decoder_, dec_act_, dec_delta_);
  std_ = buffer(latent_);
  z_ = buffer(latent_);
  z_delta_ = buffer(latent_);
  stats_delta_ = buffer(2 * latent_);
  residual_ = buffer(pixels_);
  sigma_grad_ = torch::empty({pixels_});
  inv_var_ = torch::empty({pixels_});
}

ElboSums MlpGradient::forward(const torch::Tensor& x, const torch::Tensor& eps) {
  torch::NoGradGuard no_grad;
  const int64_t rows = x.size(0);
  if (x.scalar_type() != torch::kFloat32 || !x.device().is_cpu() || x.numel() != rows * pixels_ ||
      !eps.sizes().equals({rows, latent_})) {
    throw Error("internal: MlpGradient::forward got x " + std::to_string(x.numel()) +
                " values for " + std::to_string(rows) + " rows and eps of another shape");
  }
  reserve(rows);
  rows_ = rows;
  x_ = x.contiguous().view({rows, pixels_});
  eps_ = eps.contiguous();
  const auto first = [rows](const torch::Tensor& t) { return t.narrow(0, 0, rows); };

  // Encoder: a_l = relu(a_{l-1} W_l^T + b_l), then [mu, lv] = a_L Wh^T + bh.
  torch::Tensor a = x_;
  for (size_t l = 0; l < encoder_.size(); ++l) {
    const torch::Tensor out = first(enc_act_[l]);
    const float* bias = encoder_[l].bias.data_ptr<float>();
    const bool relu = l + 1 < encoder_.size();
    linear_forward(gemm_, encoder_[l].weight, a, out,
                   [&](const torch::Tensor& columns, Block b, int64_t) {
                     add_bias(columns, bias + b.begin, relu);
                   });
    a = out;
  }

  // z = mu + std * eps with std = exp(lv / 2); KL per image and dimension
  // (AEVB appendix B): k = 0.5 (mu^2 + std^2 - 1 - lv), summed over rows.
  const int64_t d = latent_;
  const float* stats = a.data_ptr<float>();
  const float* noise = eps_.data_ptr<float>();
  float* sd = std_.data_ptr<float>();
  float* z = z_.data_ptr<float>();
  std::vector<double> kl(d, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const float mu = stats[i * 2 * d + j], lv = stats[i * 2 * d + d + j];
      const float s = std::exp(0.5f * lv);
      sd[i * d + j] = s;
      z[i * d + j] = mu + s * noise[i * d + j];
      kl[j] += 0.5 * (static_cast<double>(mu) * mu + static_cast<double>(s) * s - 1.0 - lv);
    }
  }
  torch::Tensor kl_sum = torch::empty({d});
  std::copy(kl.begin(), kl.end(), kl_sum.data_ptr<float>());

  // Decoder: g_l = relu(g_{l-1} V_l^T + c_l), then the output y = g_L V_o^T
  // + c_o, whose blocks go straight into the likelihood's terms.
  torch::Tensor g = first(z_);
  for (size_t l = 0; l + 1 < decoder_.size(); ++l) {
    const torch::Tensor out = first(dec_act_[l]);
    const float* bias = decoder_[l].bias.data_ptr<float>();
    linear_forward(gemm_, decoder_[l].weight, g, out,
                   [&](const torch::Tensor& columns, Block b, int64_t) {
                     add_bias(columns, bias + b.begin, /*relu=*/true);
                   });
    g = out;
  }
  partial_.assign(at::get_num_threads(), 0.0);
  const bool gaussian = log_sigma_.defined();
  if (gaussian) prepare_gaussian();
  linear_forward(gemm_, decoder_.back().weight, g, first(dec_act_.back()),
                 [&](const torch::Tensor& columns, Block b, int64_t t) {
                   partial_[t] = likelihood_terms(columns, b.begin, b.size);
                 });
  double recon = 0.0;
  for (double p : partial_)
    recon += p;
  if (gaussian) recon += gaussian_constant_;
  return {torch::full({}, recon, torch::kFloat32), kl_sum, first(enc_act_.back())};
}

void MlpGradient::backward(double recon_weight, const torch::Tensor& kl_weight) {
  torch::NoGradGuard no_grad;
  const int64_t rows = rows_, d = latent_;
  if (rows == 0) throw Error("internal: MlpGradient::backward before forward");
  const auto first = [rows](const torch::Tensor& t) { return t.narrow(0, 0, rows); };

  // Decoder, output layer first: delta = dL/dy = r * residual; the factor r
  // rides in the products' alpha.
  torch::Tensor delta = first(residual_);
  double scale = recon_weight;
  for (size_t k = decoder_.size(); k-- > 0;) {
    const torch::Tensor input = k == 0 ? first(z_) : first(dec_act_[k - 1]);
    const torch::Tensor next = k == 0 ? first(z_delta_) : first(dec_delta_[k - 1]);
    linear_backward(gemm_, decoder_[k].weight, decoder_[k].bias, delta, input, scale, &next,
                    /*input_is_relu=*/k > 0);
    delta = next;
    scale = 1.0;
  }
  if (log_sigma_.defined() && learn_sigma_) {
    grad_of(log_sigma_).view({-1}).copy_(sigma_grad_).mul_(recon_weight);
  }

  // Through the sample and the KL: with u = dL/dz and w_d the KL weights,
  //   dL/dmu = u + w mu,   dL/dlv = u eps std / 2 + w (std^2 - 1) / 2.
  const torch::Tensor w = kl_weight.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* pw = w.data_ptr<float>();
  const float* u = z_delta_.data_ptr<float>();
  const float* stats = enc_act_.back().data_ptr<float>();
  const float* noise = eps_.data_ptr<float>();
  const float* sd = std_.data_ptr<float>();
  float* out = stats_delta_.data_ptr<float>();
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const int64_t k = i * d + j;
      const float mu = stats[i * 2 * d + j];
      out[i * 2 * d + j] = u[k] + pw[j] * mu;
      out[i * 2 * d + d + j] =
          0.5f * u[k] * noise[k] * sd[k] + 0.5f * pw[j] * (sd[k] * sd[k] - 1.0f);
    }
  }

  // Encoder, head first. The data needs no gradient: the first layer stops.
  delta = first(stats_delta_);
  for (size_t k = encoder_.size(); k-- > 0;) {
    const torch::Tensor input = k == 0 ? x_ : first(enc_act_[k - 1]);
    const torch::Tensor next = k == 0 ? torch::Tensor() : first(enc_delta_[k - 1]);
    linear_backward(gemm_, encoder_[k].weight, encoder_[k].bias, delta, input, 1.0,
                    k == 0 ? nullptr : &next, /*input_is_relu=*/k > 0);
    delta = next;
  }
}

}  // namespace vae
