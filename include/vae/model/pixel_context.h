// The decoder's autoregressive part (--autoregressive-kernel K): the output
// of pixel i gains a learned linear function of the pixels before it, in
// raster order, inside a K x K window of its own channel,
//   v_i = output_i(z) + sum_{j < i, j in window(i)} w_{i - j} x_j,
// a causal convolution with PixelCNN's mask A (van den Oord et al. 2016);
// the likelihood family reads v. Then p(x|z) = prod_i p(x_i | x_<i, z) is
// still normalised, and log p(x|z) costs one convolution more than the
// factorised decoder's, for any number of codes z. The pixels are no longer
// independent given z: neighbouring pixels of a stroke explain each other,
// which a factorised decoder must buy with latent information (Gregor et
// al. 2014's DARN has autoregressive connections on its visible units).
// Drawing x, or its mean-field image, goes pixel by pixel (unroll).
//
// With `hidden` H > 0 (--autoregressive-hidden) the offset also gains a
// nonlinear function of the same window, one gated layer (the gated
// activation of van den Oord et al. 2016b's conditional PixelCNN):
//   v_i += sum_h u_h tanh(a_h . window_i(x)) sigmoid(b_h . window_i(x)),
// 2H masked K x K filters (a, b) and H output weights (u) per channel, no
// biases, so an all-zero window (the first pixel, the background) still
// adds nothing. They read x only: the offsets of an image are computed once
// for all of its codes, as for the linear window.
//
// With `gates_read_z` (--autoregressive-gates-read-z) the gates are
// conditioned on the code as well, as in the conditional PixelCNN, through
// the pixel's own logit l_i = output_i(z) + sum_j w_{i-j} x_j:
//   a_h . window_i(x) + g_h l_i  and  b_h . window_i(x) + g'_h l_i,
// 2H more weights per channel (starting at zero). p(x|z) stays normalised
// (v_i still reads only x_<i and z). The window's parts are still computed
// once per image (window_terms); each code then costs 2H gate evaluations
// per pixel.
//
// With `features` F > 0 (--autoregressive-features) the gates also read a
// first masked layer, F gated feature maps per channel on the same window,
//   f_i = tanh(c_f . window_i(x)) sigmoid(d_f . window_i(x)),
// through a causal window of size K' (--autoregressive-feature-kernel) that
// includes the pixel itself (PixelCNN's mask B: f_i reads only x_<i):
//   a_h . window_i(x) + sum_{j <= i, j in window'(i)} sum_f e_{h,f,i-j} f_j,
// and the same for b_h with its own weights: a two-layer causal stack whose
// view reaches further up and sideways than one window. The features read
// x alone, so they too are computed once per image; e starts at zero (the
// one-layer model), c and d at random.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>

namespace vae {

struct PixelContextOptions {
  PixelContextOptions(int64_t channels, int64_t kernel) : channels_(channels), kernel_(kernel) {}
  // Throws Error naming the flag that is out of range.
  void validate() const;
  // The window: odd, >= 3; one per channel.
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, kernel);
  // The gated units per channel, 0 to 1024 (0: the linear window only).
  TORCH_ARG(int64_t, hidden) = 0;
  // Whether the gates also read the pixel's logit (needs hidden > 0).
  TORCH_ARG(bool, gates_read_z) = false;
  // The first layer's feature maps per channel, 0 to 1024 (needs hidden >
  // 0), and the window the gates read them through: odd, >= 1.
  TORCH_ARG(int64_t, features) = 0;
  TORCH_ARG(int64_t, feature_kernel) = 5;
};

class PixelContextImpl : public torch::nn::Module {
 public:
  // The window's weights start at zero (the model starts as the factorised
  // one), and so do the gated units' output weights and logit weights; their
  // filters start at random.
  explicit PixelContextImpl(PixelContextOptions options);
  PixelContextImpl(int64_t channels, int64_t kernel, int64_t hidden = 0)
      : PixelContextImpl(PixelContextOptions(channels, kernel).hidden(hidden)) {}

  // Images x and their codes' decoder output, both [N, C, H, W] -> what the
  // likelihood reads, v = output + the offsets [N, C, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& output) const;

  // The parts of forward() that read x alone, for evaluating many codes of
  // one image: `offset` [N, C, H, W] is v - output when the gates do not
  // read z, else the linear window sum alone; `gates` [N, C, 2, H', H, W]
  // (each channel's a units, then its b units) holds the gates' window
  // terms, and is defined only when they read z. apply() finishes v for
  // the output rows of those images: N rows, or N * copies rows holding
  // image i's codes in rows i * copies .. i * copies + copies - 1. Gates that
  // read z run as one fused loop on the CPU (model/pixel_gates.h), and a
  // first layer's stack as one fused pass (model/causal_stack.h).
  struct WindowTerms {
    torch::Tensor offset;
    torch::Tensor gates;
  };
  WindowTerms window_terms(const torch::Tensor& x) const;
  torch::Tensor apply(const WindowTerms& terms, const torch::Tensor& output) const;

  // The pixels in raster order: pixel i's value is read(output_i + the
  // offset of the values already chosen), `read` mapping [N, C] to [N, C]
  // (a draw from the likelihood, or its mean for the mean-field image).
  // output [N, C, H, W] -> values [N, C, H, W].
  torch::Tensor unroll(const torch::Tensor& output,
                       const std::function<torch::Tensor(const torch::Tensor&)>& read) const;

  // The masked weight [C, 1, K, K] that forward() convolves with.
  torch::Tensor masked_weight() const { return weight_ * mask_; }
  // The gated filters, masked [C * 2H, 1, K, K] (channel c's a then b),
  // and the output weights [C, H, 1, 1]; undefined when hidden is 0. The
  // gates' logit weights [C, 2, H] (g, then g'); undefined unless they read z.
  torch::Tensor masked_gate_weight() const { return gate_weight_ * mask_; }
  // The first layer's filters, masked [C * 2F, 1, K, K] (channel c's tanh
  // then sigmoid filters), and the gates' weights on its features, masked
  // [C * 2H, F, K', K']; undefined when features is 0.
  torch::Tensor masked_feature_weight() const { return feature_weight_ * mask_; }
  torch::Tensor masked_feature_gate_weight() const { return feature_gate_weight_ * feature_mask_; }
  const torch::Tensor& out_weight() const { return out_weight_; }
  const torch::Tensor& logit_weight() const { return logit_weight_; }
  const PixelContextOptions& options() const { return options_; }
  int64_t kernel() const { return options_.kernel(); }
  int64_t hidden() const { return options_.hidden(); }
  int64_t features() const { return options_.features(); }
  bool gates_read_z() const { return options_.gates_read_z(); }

  // The exported decoder's methods `conditioned(x, h)` (forward()), for
  // gates that read x alone also `context(x)` (the offsets), and the
  // unrolled `forward(z)` (TorchScript, 4 spaces indented), written against
  // `self.output(z)`, `self.mean(h)` and `self.context_weight`, which holds
  // masked_weight() (with hidden units also `self.context_gate_weight` and
  // `self.context_out_weight`: masked_gate_weight() and out_weight(); with
  // gates that read z `self.context_logit_weight`: logit_weight(); with
  // features `self.context_feature_weight` and
  // `self.context_feature_gate_weight`: their masked weights).
  std::string script() const;

 private:
  // The gates' contribution [N, C, H, W] from their terms [N, C, 2, H', H, W].
  torch::Tensor gated(const torch::Tensor& gates) const;
  // The first layer's features' part of the gates' terms, [N, C * 2H', H, W].
  torch::Tensor feature_terms(const torch::Tensor& x) const;

  PixelContextOptions options_;
  torch::Tensor weight_;          // [C, 1, K, K]
  torch::Tensor mask_;            // [1, 1, K, K]: 1 above the centre row and left of the centre
  torch::Tensor gate_weight_;     // [C * 2H, 1, K, K]
  torch::Tensor out_weight_;      // [C, H, 1, 1]
  torch::Tensor logit_weight_;    // [C, 2, H]
  torch::Tensor feature_weight_;  // [C * 2F, 1, K, K]
  torch::Tensor feature_gate_weight_;  // [C * 2H, F, K', K']
  torch::Tensor feature_mask_;         // [1, 1, K', K']: mask B, the centre included
};
TORCH_MODULE(PixelContext);

}  // namespace vae
