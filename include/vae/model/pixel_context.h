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
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>

namespace vae {

class PixelContextImpl : public torch::nn::Module {
 public:
  // `kernel`: odd, >= 3; one window of weights per channel, zero at first
  // (the model starts as the factorised one).
  PixelContextImpl(int64_t channels, int64_t kernel);

  // x [N, C, H, W] -> the offsets sum_{j < i} w_{i-j} x_j [N, C, H, W].
  torch::Tensor forward(const torch::Tensor& x) const;

  // The pixels in raster order: pixel i's value is read(output_i + the
  // offset of the values already chosen), `read` mapping [N, C] to [N, C]
  // (a draw from the likelihood, or its mean for the mean-field image).
  // output [N, C, H, W] -> values [N, C, H, W].
  torch::Tensor unroll(const torch::Tensor& output,
                       const std::function<torch::Tensor(const torch::Tensor&)>& read) const;

  // The masked weight [C, 1, K, K] that forward() convolves with.
  torch::Tensor masked_weight() const { return weight_ * mask_; }
  int64_t kernel() const { return kernel_; }

  // The exported decoder's methods `context(x)` and the unrolled
  // `forward(z)` (TorchScript, 4 spaces indented), written against
  // `self.output(z)`, `self.mean(h)` and `self.context_weight`, which holds
  // masked_weight().
  std::string script() const;

 private:
  int64_t channels_, kernel_;
  torch::Tensor weight_;  // [C, 1, K, K]
  torch::Tensor mask_;    // [1, 1, K, K]: 1 above the centre row and left of the centre
};
TORCH_MODULE(PixelContext);

}  // namespace vae
