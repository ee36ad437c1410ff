#include "vae/model/pixel_context.h"

#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {

PixelContextImpl::PixelContextImpl(int64_t channels, int64_t kernel)
    : channels_(channels), kernel_(kernel) {
  if (kernel < 3 || kernel % 2 == 0) {
    throw Error("--autoregressive-kernel must be odd and at least 3 (or 0: none), not " +
                std::to_string(kernel));
  }
  weight_ = register_parameter("weight", torch::zeros({channels, 1, kernel, kernel}));
  // Mask A: the rows above the centre, and the centre row left of it.
  torch::Tensor mask = torch::zeros({1, 1, kernel, kernel});
  const int64_t centre = kernel / 2;
  mask.narrow(2, 0, centre).fill_(1.0);
  mask.select(2, centre).narrow(2, 0, centre).fill_(1.0);
  mask_ = register_buffer("mask", mask);
}

torch::Tensor PixelContextImpl::forward(const torch::Tensor& x) const {
  const int64_t pad = kernel_ / 2;
  return torch::conv2d(x, masked_weight(), {}, 1, pad, 1, channels_);
}

torch::Tensor PixelContextImpl::unroll(
    const torch::Tensor& output,
    const std::function<torch::Tensor(const torch::Tensor&)>& read) const {
  const torch::NoGradGuard no_grad;
  const int64_t n = output.size(0), height = output.size(2), width = output.size(3);
  const int64_t pad = kernel_ / 2;
  // [C, K, K]: one window per channel, broadcast over the images.
  const torch::Tensor w = masked_weight().squeeze(1).to(output.options());
  // The chosen values, zero-padded so every pixel's window is a plain slice.
  torch::Tensor values =
      torch::zeros({n, channels_, height + 2 * pad, width + 2 * pad}, output.options());
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const torch::Tensor window = values.narrow(2, r, kernel_).narrow(3, c, kernel_);
      const torch::Tensor v = output.select(3, c).select(2, r) + (window * w).sum({2, 3});
      values.select(3, c + pad).select(2, r + pad).copy_(read(v));
    }
  }
  return values.narrow(2, pad, height).narrow(3, pad, width).contiguous();
}

std::string PixelContextImpl::script() const {
  const std::string c = std::to_string(channels_), k = std::to_string(kernel_),
                    p = std::to_string(kernel_ / 2);
  return R"(
    def context(self, x):
        return torch.conv2d(x.float(), self.context_weight, None, [1, 1], [)" +
         p + ", " + p + "], [1, 1], " + c + R"()

    def forward(self, z):
        h = self.output(z)
        height = h.size(2)
        width = h.size(3)
        values = torch.zeros([h.size(0), )" +
         c + ", height + " + std::to_string(2 * (kernel_ / 2)) + ", width + " +
         std::to_string(2 * (kernel_ / 2)) + R"(], dtype=h.dtype)
        w = self.context_weight.squeeze(1)
        for r in range(height):
            for c in range(width):
                v = h[:, :, r, c] + (values[:, :, r:r + )" +
         k + ", c:c + " + k + R"(] * w).sum([2, 3])
                values[:, :, r + )" +
         p + ", c + " + p + R"(] = self.mean(v)
        return values[:, :, )" +
         p + ":" + p + " + height, " + p + ":" + p + R"( + width]
)";
}

}  // namespace vae
