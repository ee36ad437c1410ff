#include "vae/model/pixel_context.h"

#include <torch/torch.h>

#include "vae/runtime/error.h"

namespace vae {

PixelContextImpl::PixelContextImpl(int64_t channels, int64_t kernel, int64_t hidden)
    : channels_(channels), kernel_(kernel), hidden_(hidden) {
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
  if (hidden < 0)
    throw Error("--autoregressive-hidden must be >= 0, not " + std::to_string(hidden));
  if (hidden > 0) {
    // nn.Conv2d's default bound, 1/sqrt(fan in); the output weights start
    // at zero, so the model starts as the factorised one.
    const double bound = 1.0 / static_cast<double>(kernel);
    gate_weight_ = register_parameter(
        "gate_weight",
        torch::rand({channels * 2 * hidden, 1, kernel, kernel}) * (2 * bound) - bound);
    out_weight_ = register_parameter("out_weight", torch::zeros({channels, hidden, 1, 1}));
  }
}

torch::Tensor PixelContextImpl::forward(const torch::Tensor& x) const {
  const int64_t pad = kernel_ / 2;
  const torch::Tensor linear = torch::conv2d(x, masked_weight(), {}, 1, pad, 1, channels_);
  if (hidden_ == 0) return linear;
  const int64_t n = x.size(0), height = x.size(2), width = x.size(3);
  // [N, C * 2H, H, W] -> a, b [N, C, H, H, W] (group c's a units, then its b).
  const torch::Tensor ab = torch::conv2d(x, masked_gate_weight(), {}, 1, pad, 1, channels_)
                               .view({n, channels_, 2, hidden_, height, width});
  const torch::Tensor gated = torch::tanh(ab.select(2, 0)) * torch::sigmoid(ab.select(2, 1));
  const int64_t no_pad = 0;  // a literal 0 would also convert to the padding mode's string
  return linear + torch::conv2d(gated.reshape({n, channels_ * hidden_, height, width}), out_weight_,
                                {}, 1, no_pad, 1, channels_);
}

torch::Tensor PixelContextImpl::unroll(
    const torch::Tensor& output,
    const std::function<torch::Tensor(const torch::Tensor&)>& read) const {
  const torch::NoGradGuard no_grad;
  const int64_t n = output.size(0), height = output.size(2), width = output.size(3);
  const int64_t pad = kernel_ / 2;
  // [C, K, K]: one window per channel, broadcast over the images.
  const torch::Tensor w = masked_weight().squeeze(1).to(output.options());
  // The gated units: filters [C, K K, 2H] and output weights [1, C, H].
  torch::Tensor gate, out;
  if (hidden_ > 0) {
    gate = masked_gate_weight()
               .view({channels_, 2 * hidden_, kernel_ * kernel_})
               .transpose(1, 2)
               .to(output.options());
    out = out_weight_.view({1, channels_, hidden_}).to(output.options());
  }
  // The chosen values, zero-padded so every pixel's window is a plain slice.
  torch::Tensor values =
      torch::zeros({n, channels_, height + 2 * pad, width + 2 * pad}, output.options());
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const torch::Tensor window = values.narrow(2, r, kernel_).narrow(3, c, kernel_);
      torch::Tensor v = output.select(3, c).select(2, r) + (window * w).sum({2, 3});
      if (hidden_ > 0) {
        // [N, C, 1, K K] x [C, K K, 2H] -> [N, C, 2H]
        const torch::Tensor ab =
            torch::matmul(window.reshape({n, channels_, 1, kernel_ * kernel_}), gate).squeeze(2);
        v = v + (torch::tanh(ab.narrow(2, 0, hidden_)) *
                 torch::sigmoid(ab.narrow(2, hidden_, hidden_)) * out)
                    .sum(2);
      }
      values.select(3, c + pad).select(2, r + pad).copy_(read(v));
    }
  }
  return values.narrow(2, pad, height).narrow(3, pad, width).contiguous();
}

std::string PixelContextImpl::script() const {
  const std::string c = std::to_string(channels_), k = std::to_string(kernel_),
                    p = std::to_string(kernel_ / 2), padded = std::to_string(2 * (kernel_ / 2)),
                    hd = std::to_string(hidden_);
  const std::string conv = ", None, [1, 1], [" + p + ", " + p + "], [1, 1], " + c + ")";
  std::string context = R"(
    def context(self, x):
        return torch.conv2d(x.float(), self.context_weight)" +
                        conv + "\n";
  std::string gate_setup, gate_step;
  if (hidden_ > 0) {
    context = R"(
    def context(self, x):
        x = x.float()
        v = torch.conv2d(x, self.context_weight)" +
              conv + R"(
        ab = torch.conv2d(x, self.context_gate_weight)" +
              conv + R"(
        ab = ab.view(x.size(0), )" +
              c + ", 2, " + hd + R"(, x.size(2), x.size(3))
        g = torch.tanh(ab[:, :, 0]) * torch.sigmoid(ab[:, :, 1])
        g = g.reshape(x.size(0), )" +
              std::to_string(channels_ * hidden_) + R"(, x.size(2), x.size(3))
        return v + torch.conv2d(g, self.context_out_weight, None, [1, 1], [0, 0], [1, 1], )" +
              c + ")\n";
    gate_setup = "        gate = self.context_gate_weight.view(" + c + ", " +
                 std::to_string(2 * hidden_) + ", " + std::to_string(kernel_ * kernel_) +
                 ").transpose(1, 2)\n        out = self.context_out_weight.view(1, " + c + ", " +
                 hd + ")\n";
    gate_step = "                window = values[:, :, r:r + " + k + ", c:c + " + k +
                "].reshape(h.size(0), " + c + ", 1, " + std::to_string(kernel_ * kernel_) +
                ")\n                ab = torch.matmul(window, gate).squeeze(2)\n"
                "                v = v + (torch.tanh(ab[:, :, :" +
                hd + "]) * torch.sigmoid(ab[:, :, " + hd + ":]) * out).sum(2)\n";
  }
  return context + R"(
    def forward(self, z):
        h = self.output(z)
        height = h.size(2)
        width = h.size(3)
        values = torch.zeros([h.size(0), )" +
         c + ", height + " + padded + ", width + " + padded + R"(], dtype=h.dtype)
        w = self.context_weight.squeeze(1)
)" + gate_setup +
         R"(        for r in range(height):
            for c in range(width):
                v = h[:, :, r, c] + (values[:, :, r:r + )" +
         k + ", c:c + " + k + R"(] * w).sum([2, 3])
)" + gate_step +
         "                values[:, :, r + " + p + ", c + " + p + R"(] = self.mean(v)
        return values[:, :, )" +
         p + ":" + p + " + height, " + p + ":" + p + R"( + width]
)";
}

}  // namespace vae
