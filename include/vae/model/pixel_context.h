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
// adds nothing. It reads x only, never z: the offsets of an image are
// computed once for all of its codes, as for the linear window.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>

namespace vae {

class PixelContextImpl : public torch::nn::Module {
 public:
  // `kernel`: odd, >= 3; one window of weights per channel, zero at first
  // (the model starts as the factorised one). `hidden`: the gated units per
  // channel (0: the linear window only); their output weights start at
  // zero too, their filters at random.
  PixelContextImpl(int64_t channels, int64_t kernel, int64_t hidden = 0);

  // x [N, C, H, W] -> the offsets sum_{j < i} w_{i-j} x_j (+ the gated
  // units) [N, C, H, W].
  torch::Tensor forward(const torch::Tensor& x) const;

  // The pixels in raster order: pixel i's value is read(output_i + the
  // offset of the values already chosen), `read` mapping [N, C] to [N, C]
  // (a draw from the likelihood, or its mean for the mean-field image).
  // output [N, C, H, W] -> values [N, C, H, W].
  torch::Tensor unroll(const torch::Tensor& output,
                       const std::function<torch::Tensor(const torch::Tensor&)>& read) const;

  // The masked weight [C, 1, K, K] that forward() convolves with.
  torch::Tensor masked_weight() const { return weight_ * mask_; }
  // The gated filters, masked [C * 2H, 1, K, K] (channel c's a then b),
  // and the output weights [C, H, 1, 1]; undefined when hidden is 0.
  torch::Tensor masked_gate_weight() const { return gate_weight_ * mask_; }
  const torch::Tensor& out_weight() const { return out_weight_; }
  int64_t kernel() const { return kernel_; }
  int64_t hidden() const { return hidden_; }

  // The exported decoder's methods `context(x)` and the unrolled
  // `forward(z)` (TorchScript, 4 spaces indented), written against
  // `self.output(z)`, `self.mean(h)` and `self.context_weight`, which holds
  // masked_weight() (with hidden units also `self.context_gate_weight` and
  // `self.context_out_weight`: masked_gate_weight() and out_weight()).
  std::string script() const;

 private:
  int64_t channels_, kernel_, hidden_;
  torch::Tensor weight_;       // [C, 1, K, K]
  torch::Tensor mask_;         // [1, 1, K, K]: 1 above the centre row and left of the centre
  torch::Tensor gate_weight_;  // [C * 2H, 1, K, K]
  torch::Tensor out_weight_;   // [C, H, 1, 1]
};
TORCH_MODULE(PixelContext);

}  // namespace vae
