#include "vae/mlp_gradient.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "vae/error.h"

namespace vae {
namespace {

// Rows per parallel task: about 16k elements, below which a second thread
// costs more than it saves.
int64_t grain_rows(int64_t cols) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
}

// a <- a + b (relu: max(a + b, 0)) for every row of a [rows, cols].
void add_bias(const torch::Tensor& a, const torch::Tensor& b, bool relu) {
  const int64_t cols = a.size(1);
  float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  at::parallel_for(0, a.size(0), grain_rows(cols), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* row = pa + i * cols;
      if (relu) {
        for (int64_t j = 0; j < cols; ++j)
          row[j] = std::max(row[j] + pb[j], 0.0f);
      } else {
        for (int64_t j = 0; j < cols; ++j)
          row[j] += pb[j];
      }
    }
  });
}

// delta <- delta * [act > 0]: the ReLU's derivative, with act its output.
void relu_backward(const torch::Tensor& delta, const torch::Tensor& act) {
  float* d = delta.data_ptr<float>();
  const float* a = act.data_ptr<float>();
  at::parallel_for(0, delta.numel(), 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      d[i] = a[i] > 0.0f ? d[i] : 0.0f;
  });
}

// Sum over `count` indices in parallel, each task in double.
template <typename F>
double parallel_sum(int64_t count, int64_t grain, const F& term) {
  return at::parallel_reduce(
      int64_t{0}, count, grain, 0.0,
      [&](int64_t begin, int64_t end, double acc) { return acc + term(begin, end); },
      [](double a, double b) { return a + b; });
}

// The parameter's .grad, allocated on first use and then overwritten.
torch::Tensor& grad_of(const torch::Tensor& p) {
  torch::Tensor& g = const_cast<torch::Tensor&>(p).mutable_grad();
  if (!g.defined() || !g.sizes().equals(p.sizes())) g = torch::empty_like(p);
  return g;
}

// Gradients of a linear layer y = u W^T + b from delta = dL/dy [B, out]:
//   dL/dW = scale * delta^T u,  dL/db = scale * sum_rows(delta),
// and, when wanted, dL/du = scale * delta W into `input_delta`.
void linear_backward(const torch::Tensor& weight, const torch::Tensor& bias,
                     const torch::Tensor& delta, const torch::Tensor& input, double scale,
                     torch::Tensor* input_delta) {
  torch::Tensor& gw = grad_of(weight);
  torch::Tensor& gb = grad_of(bias);
  // addmm with beta = 0 ignores the output's old values: a scaled product.
  torch::addmm_out(gw, gw, delta.t(), input, /*beta=*/0.0, /*alpha=*/scale);
  torch::sum_out(gb, delta, {0});
  if (scale != 1.0) gb.mul_(scale);
  if (input_delta != nullptr) {
    torch::addmm_out(*input_delta, *input_delta, delta, weight, /*beta=*/0.0, /*alpha=*/scale);
  }
}

}  // namespace

bool MlpGradient::covers(const VAE& model) {
  if (model->options().arch() != Architecture::kMlp) return false;
  for (const auto& p : model->parameters()) {
    if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat32) return false;
  }
  return true;
}

MlpGradient::MlpGradient(VAE model) : model_(std::move(model)) {
  if (!covers(model_)) {
    throw Error("internal: the hand-derived gradient covers float32 mlp models on the CPU only");
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
  if (o.likelihood() == Likelihood::kGaussian) {
    log_sigma_ = model_->decoder->log_sigma();
    learn_sigma_ = o.learn_sigma();
  }
}

void MlpGradient::reserve(int64_t rows) {
  if (rows <= capacity_) return;
  capacity_ = rows;
  const auto buffer = [rows](int64_t cols) { return torch::empty({rows, cols}); };
  enc_act_.clear();
  enc_delta_.clear();
  for (const Layer& layer : encoder_) {
    enc_act_.push_back(buffer(layer.weight.size(0)));
    enc_delta_.push_back(buffer(layer.weight.size(0)));
  }
  dec_act_.clear();
  dec_delta_.clear();
  for (const Layer& layer : decoder_) {
    dec_act_.push_back(buffer(layer.weight.size(0)));
    dec_delta_.push_back(buffer(layer.weight.size(0)));
  }
  std_ = buffer(latent_);
  z_ = buffer(latent_);
  z_delta_ = buffer(latent_);
  stats_delta_ = buffer(2 * latent_);
  residual_ = buffer(pixels_);
  scratch_ = buffer(pixels_);
  sigma_grad_ = torch::empty({pixels_});
  inv_var_ = torch::empty({pixels_});
}

Posterior MlpGradient::posterior() const {
  const torch::Tensor stats = enc_act_.back().narrow(0, 0, rows_);
  return {stats.narrow(1, 0, latent_), stats.narrow(1, latent_, latent_)};
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
    torch::Tensor out = first(enc_act_[l]);
    torch::mm_out(out, a, encoder_[l].weight.t());
    add_bias(out, encoder_[l].bias, /*relu=*/l + 1 < encoder_.size());
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

  // Decoder: g_l = relu(g_{l-1} V_l^T + c_l), y = g_L V_o^T (bias below).
  torch::Tensor g = first(z_);
  for (size_t l = 0; l < decoder_.size(); ++l) {
    torch::Tensor out = first(dec_act_[l]);
    torch::mm_out(out, g, decoder_[l].weight.t());
    if (l + 1 < decoder_.size()) add_bias(out, decoder_[l].bias, /*relu=*/true);
    g = out;
  }
  const double recon = log_sigma_.defined() ? gaussian_terms(g) : bernoulli_terms(g);
  return {torch::full({}, recon, torch::kFloat32), kl_sum};
}

// -log Bernoulli(x; sigmoid(y)) = softplus(y) - x y, and its derivative
// sigmoid(y) - x (kept in residual_). With e = exp(-|y|), both come from one
// exponential: softplus(y) = max(y, 0) + log1p(e), sigmoid(y) = 1 / (1 + e)
// for y >= 0 and e / (1 + e) below. exp and log1p run as LibTorch's
// vectorized kernels over the whole batch.
double MlpGradient::bernoulli_terms(const torch::Tensor& y) {
  const int64_t rows = rows_, n = rows * pixels_;
  add_bias(y, decoder_.back().bias, /*relu=*/false);
  torch::Tensor e = scratch_.narrow(0, 0, rows);
  float* pe = e.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  const float* px = x_.data_ptr<float>();
  float* pr = residual_.data_ptr<float>();
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      pe[i] = -std::fabs(py[i]);
  });
  torch::exp_out(e, e);
  const double linear = parallel_sum(n, 16384, [&](int64_t begin, int64_t end) {
    // Eight float lanes that the compiler vectorizes (it may not reorder a
    // single floating-point sum), added up in double at the end.
    float lanes[8] = {};
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
      for (int64_t k = 0; k < 8; ++k) {
        const float yk = py[i + k], ek = pe[i + k], inv = 1.0f / (1.0f + ek);
        pr[i + k] = (yk >= 0.0f ? inv : ek * inv) - px[i + k];
        lanes[k] += std::max(yk, 0.0f) - px[i + k] * yk;
      }
    }
    double acc = 0.0;
    for (; i < end; ++i) {
      const float inv = 1.0f / (1.0f + pe[i]);
      pr[i] = (py[i] >= 0.0f ? inv : pe[i] * inv) - px[i];
      acc += std::max(py[i], 0.0f) - px[i] * py[i];
    }
    for (float lane : lanes)
      acc += lane;
    return acc;
  });
  torch::log1p_out(e, e);
  return linear + e.sum(torch::kFloat64).item<double>();
}

// Gaussian with mean m = sigmoid(y) and log sigma ls (per pixel or shared):
//   -log p = (x - m)^2 / 2 exp(-2 ls) + ls + log(2 pi) / 2,
//   d/dy   = (m - x) exp(-2 ls) m (1 - m)     (kept in residual_),
//   d/dls  = 1 - (x - m)^2 exp(-2 ls)         (summed over rows, learned only).
// Parallel over pixel columns, so that the per-pixel sums need no merging.
double MlpGradient::gaussian_terms(const torch::Tensor& y) {
  static const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);
  const int64_t rows = rows_, cols = pixels_;
  add_bias(y, decoder_.back().bias, /*relu=*/false);
  torch::Tensor m = scratch_.narrow(0, 0, rows);
  torch::sigmoid_out(m, y);
  const torch::Tensor ls = log_sigma_.reshape({-1}).contiguous();
  const bool per_pixel = ls.numel() == cols;
  // exp(-2 ls) once per pixel, not once per element.
  float* inv = inv_var_.data_ptr<float>();
  const float* pls = ls.data_ptr<float>();
  for (int64_t j = 0; j < cols; ++j)
    inv[j] = std::exp(-2.0f * pls[per_pixel ? j : 0]);
  const float* pm = m.data_ptr<float>();
  const float* px = x_.data_ptr<float>();
  float* pr = residual_.data_ptr<float>();
  float* psg = sigma_grad_.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(8, 16384 / std::max<int64_t>(rows, 1));
  const double squares = parallel_sum(cols, grain, [&](int64_t begin, int64_t end) {
    double acc = 0.0;
    for (int64_t j = begin; j < end; ++j)
      psg[j] = 0.0f;
    for (int64_t i = 0; i < rows; ++i) {
      const float* xi = px + i * cols;
      const float* mi = pm + i * cols;
      float* ri = pr + i * cols;
      float row = 0.0f;
      for (int64_t j = begin; j < end; ++j) {
        const float inv_var = inv[j];
        const float diff = xi[j] - mi[j];
        const float sq = diff * diff * inv_var;
        row += sq;
        psg[j] += 1.0f - sq;
        ri[j] = -diff * inv_var * mi[j] * (1.0f - mi[j]);
      }
      acc += 0.5 * row;
    }
    return acc;
  });
  const double log_sigma_sum = per_pixel ? ls.sum(torch::kFloat64).item<double>()
                                         : static_cast<double>(cols) * ls.item<double>();
  return squares + static_cast<double>(rows) * (log_sigma_sum + cols * kHalfLog2Pi);
}

void MlpGradient::backward(double recon_weight, const torch::Tensor& kl_weight) {
  torch::NoGradGuard no_grad;
  const int64_t rows = rows_, d = latent_;
  if (rows == 0) throw Error("internal: MlpGradient::backward before forward");
  const auto first = [rows](const torch::Tensor& t) { return t.narrow(0, 0, rows); };

  // Decoder, output layer first: delta = dL/dy = r * residual; the factor r
  // rides in the products' alpha instead of a pass of its own.
  torch::Tensor delta = first(residual_);
  double scale = recon_weight;
  for (size_t k = decoder_.size(); k-- > 0;) {
    const torch::Tensor input = k == 0 ? first(z_) : first(dec_act_[k - 1]);
    torch::Tensor next = k == 0 ? first(z_delta_) : first(dec_delta_[k - 1]);
    linear_backward(decoder_[k].weight, decoder_[k].bias, delta, input, scale, &next);
    if (k > 0) relu_backward(next, input);
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
    torch::Tensor next = k == 0 ? torch::Tensor() : first(enc_delta_[k - 1]);
    linear_backward(encoder_[k].weight, encoder_[k].bias, delta, input, 1.0,
                    k == 0 ? nullptr : &next);
    if (k > 0) relu_backward(next, input);
    delta = next;
  }
}

}  // namespace vae
