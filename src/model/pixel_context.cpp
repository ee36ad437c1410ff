#include "vae/model/pixel_context.h"

#include <torch/torch.h>

#include "vae/model/causal_stack.h"
#include "vae/model/pixel_gates.h"
#include "vae/runtime/error.h"

namespace vae {

namespace {

// PixelCNN's causal masks [1, 1, K, K] (van den Oord et al. 2016): 1 on the
// rows above the centre and on the centre row left of it (mask A), and with
// `centre` on the centre itself too (mask B).
torch::Tensor causal_mask(int64_t size, bool centre) {
  torch::Tensor mask = torch::zeros({1, 1, size, size});
  const int64_t middle = size / 2;
  mask.narrow(2, 0, middle).fill_(1.0);
  mask.select(2, middle).narrow(2, 0, centre ? middle + 1 : middle).fill_(1.0);
  return mask;
}

// The gated activation tanh(a) sigmoid(b) of terms [..., 2, ...] holding a,
// then b, along dimension 2.
torch::Tensor gate_pairs(const torch::Tensor& terms) {
  return torch::tanh(terms.select(2, 0)) * torch::sigmoid(terms.select(2, 1));
}

// The unrolled forward(z): pixel by pixel, v = the output + the window sum
// (+ `step`, the gated units, after `setup`), its mean fed forward.
std::string unrolled_script(const std::string& c, const std::string& k, const std::string& p,
                            const std::string& padded, const std::string& setup,
                            const std::string& step) {
  return R"(
    def forward(self, z):
        h = self.output(z)
        height = h.size(2)
        width = h.size(3)
        values = torch.zeros([h.size(0), )" +
         c + ", height + " + padded + ", width + " + padded + R"(], dtype=h.dtype)
        w = self.context_weight.squeeze(1)
)" + setup +
         R"(        for r in range(height):
            for c in range(width):
                v = h[:, :, r, c] + (values[:, :, r:r + )" +
         k + ", c:c + " + k + R"(] * w).sum([2, 3])
)" + step +
         "                values[:, :, r + " + p + ", c + " + p + R"(] = self.mean(v)
        return values[:, :, )" +
         p + ":" + p + " + height, " + p + ":" + p + R"( + width]
)";
}

}  // namespace

void PixelContextOptions::validate() const {
  if (kernel() < 3 || kernel() % 2 == 0) {
    throw Error("--autoregressive-kernel must be odd and at least 3 (or 0: none), not " +
                std::to_string(kernel()));
  }
  if (hidden() < 0 || hidden() > 1024)
    throw Error("--autoregressive-hidden must be 0 to 1024, not " + std::to_string(hidden()));
  if (gates_read_z() && hidden() == 0)
    throw Error("--autoregressive-gates-read-z needs --autoregressive-hidden H (the gates)");
  if (features() < 0 || features() > 1024)
    throw Error("--autoregressive-features must be 0 to 1024, not " + std::to_string(features()));
  if (features() > 0 && hidden() == 0)
    throw Error(
        "--autoregressive-features needs --autoregressive-hidden H (the gates that read them)");
  if (feature_kernel() < 1 || feature_kernel() % 2 == 0) {
    throw Error("--autoregressive-feature-kernel must be odd and at least 1, not " +
                std::to_string(feature_kernel()));
  }
}

PixelContextImpl::PixelContextImpl(PixelContextOptions options) : options_(std::move(options)) {
  options_.validate();
  const int64_t channels = options_.channels(), kernel = options_.kernel(),
                hidden = options_.hidden();
  weight_ = register_parameter("weight", torch::zeros({channels, 1, kernel, kernel}));
  mask_ = register_buffer("mask", causal_mask(kernel, false));
  if (hidden > 0) {
    // nn.Conv2d's default bound, 1/sqrt(fan in); the output weights start
    // at zero, so the model starts as the factorised one.
    const double bound = 1.0 / static_cast<double>(kernel);
    gate_weight_ = register_parameter(
        "gate_weight",
        torch::rand({channels * 2 * hidden, 1, kernel, kernel}) * (2 * bound) - bound);
    out_weight_ = register_parameter("out_weight", torch::zeros({channels, hidden, 1, 1}));
  }
  if (options_.gates_read_z())
    logit_weight_ = register_parameter("logit_weight", torch::zeros({channels, 2, hidden}));
  if (const int64_t features = options_.features(); features > 0) {
    const double bound = 1.0 / static_cast<double>(kernel);
    feature_weight_ = register_parameter(
        "feature_weight",
        torch::rand({channels * 2 * features, 1, kernel, kernel}) * (2 * bound) - bound);
    const int64_t size = options_.feature_kernel();
    feature_gate_weight_ = register_parameter(
        "feature_gate_weight", torch::zeros({channels * 2 * hidden, features, size, size}));
    // Mask B: the centre too, whose feature reads only x_<i.
    feature_mask_ = register_buffer("feature_mask", causal_mask(size, true));
  }
}

torch::Tensor PixelContextImpl::forward(const torch::Tensor& x, const torch::Tensor& output) const {
  return apply(window_terms(x), output);
}

PixelContextImpl::WindowTerms PixelContextImpl::window_terms(const torch::Tensor& x) const {
  const int64_t channels = options_.channels(), pad = kernel() / 2;
  torch::Tensor linear, gates;
  if (features() > 0 && causal_stack_covers(x)) {
    // The stack's convolutions as one fused pass over the masks' taps.
    CausalStackTerms terms =
        causal_stack_terms(x, masked_weight(), masked_gate_weight(), masked_feature_weight(),
                           masked_feature_gate_weight());
    linear = std::move(terms.linear);
    gates = std::move(terms.gates);
  } else {
    linear = torch::conv2d(x, masked_weight(), {}, 1, pad, 1, channels);
    if (hidden() == 0) return {linear, {}};
    gates = torch::conv2d(x, masked_gate_weight(), {}, 1, pad, 1, channels);
    if (features() > 0) gates = gates + feature_terms(x);
  }
  // [N, C * 2H', H, W] -> [N, C, 2, H', H, W] (group c's a units, then its b).
  gates = gates.view({x.size(0), channels, 2, hidden(), x.size(2), x.size(3)});
  if (!gates_read_z()) return {linear + gated(gates), {}};
  return {linear, gates};
}

torch::Tensor PixelContextImpl::apply(const WindowTerms& terms, const torch::Tensor& output) const {
  const int64_t images = terms.offset.size(0),
                copies = output.size(0) / std::max<int64_t>(images, 1);
  const torch::Tensor v =
      copies == 1
          ? output + terms.offset
          : (output.reshape({images, copies, output.size(1), output.size(2), output.size(3)}) +
             terms.offset.unsqueeze(1))
                .view(output.sizes());
  if (!terms.gates.defined()) return v;
  if (gated_logit_read_covers(terms.gates, v))
    return gated_logit_read(terms.gates, v, logit_weight_, out_weight_);
  // The gates read the logit l = output + the window sum: [N, C, 1, 1, H, W]
  // times the weights [1, C, 2, H', 1, 1].
  const torch::Tensor gates = copies == 1 ? terms.gates : terms.gates.repeat_interleave(copies, 0);
  const torch::Tensor read =
      logit_weight_.view({1, options_.channels(), 2, hidden(), 1, 1}) * v.unsqueeze(2).unsqueeze(2);
  return v + gated(gates + read);
}

torch::Tensor PixelContextImpl::feature_terms(const torch::Tensor& x) const {
  const int64_t n = x.size(0), channels = options_.channels(), height = x.size(2),
                width = x.size(3), pad = kernel() / 2;
  // f [N, C * F, H, W] from the first layer's terms [N, C, 2, F, H, W].
  const torch::Tensor terms = torch::conv2d(x, masked_feature_weight(), {}, 1, pad, 1, channels)
                                  .view({n, channels, 2, features(), height, width});
  const torch::Tensor f = gate_pairs(terms).reshape({n, channels * features(), height, width});
  return torch::conv2d(f, masked_feature_gate_weight(), {}, 1, options_.feature_kernel() / 2, 1,
                       channels);
}

torch::Tensor PixelContextImpl::gated(const torch::Tensor& gates) const {
  const int64_t n = gates.size(0), channels = options_.channels(), height = gates.size(4),
                width = gates.size(5);
  const torch::Tensor g = gate_pairs(gates);
  const int64_t no_pad = 0;  // a literal 0 would also convert to the padding mode's string
  return torch::conv2d(g.reshape({n, channels * hidden(), height, width}), out_weight_, {}, 1,
                       no_pad, 1, channels);
}

torch::Tensor PixelContextImpl::unroll(
    const torch::Tensor& output,
    const std::function<torch::Tensor(const torch::Tensor&)>& read) const {
  const torch::NoGradGuard no_grad;
  const int64_t n = output.size(0), height = output.size(2), width = output.size(3);
  const int64_t channels = options_.channels(), size = kernel(), units = hidden();
  const int64_t pad = size / 2, maps = features(), fsize = options_.feature_kernel(),
                fpad = fsize / 2;
  // [C, K, K]: one window per channel, broadcast over the images.
  const torch::Tensor w = masked_weight().squeeze(1).to(output.options());
  // The gated units: filters [C, K K, 2H'], output weights [1, C, H'] and
  // logit weights [1, C, 2H'].
  torch::Tensor gate, out, logit;
  if (gates_read_z()) logit = logit_weight_.view({1, channels, 2 * units}).to(output.options());
  if (units > 0) {
    gate = masked_gate_weight()
               .view({channels, 2 * units, size * size})
               .transpose(1, 2)
               .to(output.options());
    out = out_weight_.view({1, channels, units}).to(output.options());
  }
  // The first layer: filters [C, K K, 2F], the gates' weights on the
  // features [C, F K' K', 2H'], and the features so far [N, C, F, H, W],
  // zero-padded by K' / 2.
  torch::Tensor feature_filter, feature_gate, feats;
  if (maps > 0) {
    feature_filter = masked_feature_weight()
                         .view({channels, 2 * maps, size * size})
                         .transpose(1, 2)
                         .to(output.options());
    feature_gate = masked_feature_gate_weight()
                       .view({channels, 2 * units, maps * fsize * fsize})
                       .transpose(1, 2)
                       .to(output.options());
    feats =
        torch::zeros({n, channels, maps, height + 2 * fpad, width + 2 * fpad}, output.options());
  }
  // The chosen values, zero-padded so every pixel's window is a plain slice.
  torch::Tensor values =
      torch::zeros({n, channels, height + 2 * pad, width + 2 * pad}, output.options());
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const torch::Tensor window = values.narrow(2, r, size).narrow(3, c, size);
      torch::Tensor v = output.select(3, c).select(2, r) + (window * w).sum({2, 3});
      if (units > 0) {
        // [N, C, 1, K K] x [C, K K, 2H'] -> [N, C, 2H']
        const torch::Tensor flat = window.reshape({n, channels, 1, size * size});
        torch::Tensor ab = torch::matmul(flat, gate).squeeze(2);
        if (maps > 0) {
          // This pixel's features (they read x_<i), then the gates' view of
          // the features so far.
          const torch::Tensor terms = torch::matmul(flat, feature_filter).squeeze(2);
          feats.select(4, c + fpad)
              .select(3, r + fpad)
              .copy_(torch::tanh(terms.narrow(2, 0, maps)) *
                     torch::sigmoid(terms.narrow(2, maps, maps)));
          const torch::Tensor seen = feats.narrow(3, r, fsize)
                                         .narrow(4, c, fsize)
                                         .reshape({n, channels, 1, maps * fsize * fsize});
          ab = ab + torch::matmul(seen, feature_gate).squeeze(2);
        }
        if (logit.defined()) ab = ab + logit * v.unsqueeze(2);
        v = v +
            (torch::tanh(ab.narrow(2, 0, units)) * torch::sigmoid(ab.narrow(2, units, units)) * out)
                .sum(2);
      }
      values.select(3, c + pad).select(2, r + pad).copy_(read(v));
    }
  }
  return values.narrow(2, pad, height).narrow(3, pad, width).contiguous();
}

std::string PixelContextImpl::script() const {
  const int64_t channels = options_.channels(), size = kernel(), units = hidden();
  const std::string c = std::to_string(channels), k = std::to_string(size),
                    p = std::to_string(size / 2), padded = std::to_string(2 * (size / 2)),
                    hd = std::to_string(units), kk = std::to_string(size * size);
  const std::string conv = ", None, [1, 1], [" + p + ", " + p + "], [1, 1], " + c + ")";
  if (units == 0) {
    return R"(
    def context(self, x):
        return torch.conv2d(x.float(), self.context_weight)" +
           conv + R"(

    def conditioned(self, x, h):
        return h + self.context(x)
)" + unrolled_script(c, k, p, padded, "", "");
  }
  // The gated units' term, from ab [N, C, 2, H', H, W] (the gates' inputs).
  const std::string gated = R"(
        g = torch.tanh(ab[:, :, 0]) * torch.sigmoid(ab[:, :, 1])
        g = g.reshape(ab.size(0), )" +
                            std::to_string(channels * units) +
                            R"(, ab.size(4), ab.size(5))
        return v + torch.conv2d(g, self.context_out_weight, None, [1, 1], [0, 0], [1, 1], )" +
                            c + ")\n";
  const int64_t maps = features(), fsize = options_.feature_kernel();
  const std::string f = std::to_string(maps), fk = std::to_string(fsize),
                    fp = std::to_string(fsize / 2), fpadded = std::to_string(2 * (fsize / 2)),
                    fkk = std::to_string(maps * fsize * fsize);
  std::string window_terms = R"(
        x = x.float()
        ab = torch.conv2d(x, self.context_gate_weight)" +
                             conv;
  if (maps > 0) {
    window_terms += R"(
        fab = torch.conv2d(x, self.context_feature_weight)" +
                    conv + R"(
        fab = fab.view(x.size(0), )" +
                    c + ", 2, " + f + R"(, x.size(2), x.size(3))
        f = torch.tanh(fab[:, :, 0]) * torch.sigmoid(fab[:, :, 1])
        f = f.reshape(x.size(0), )" +
                    std::to_string(channels * maps) + R"(, x.size(2), x.size(3))
        ab = ab + torch.conv2d(f, self.context_feature_gate_weight, None, [1, 1], [)" +
                    fp + ", " + fp + "], [1, 1], " + c + ")";
  }
  window_terms += R"(
        ab = ab.view(x.size(0), )" +
                  c + ", 2, " + hd + R"(, x.size(2), x.size(3)))";
  std::string methods;
  if (!gates_read_z()) {
    methods = R"(
    def context(self, x):)" +
              window_terms + R"(
        v = torch.conv2d(x, self.context_weight)" +
              conv + gated + R"(
    def conditioned(self, x, h):
        return h + self.context(x)
)";
  } else {
    methods = R"(
    def conditioned(self, x, h):)" +
              window_terms + R"(
        v = h + torch.conv2d(x, self.context_weight)" +
              conv + R"(
        ab = ab + self.context_logit_weight.view(1, )" +
              c + ", 2, " + hd + R"(, 1, 1) * v.unsqueeze(2).unsqueeze(2))" + gated;
  }
  std::string setup = "        gate = self.context_gate_weight.view(" + c + ", " +
                      std::to_string(2 * units) + ", " + kk +
                      ").transpose(1, 2)\n        out = self.context_out_weight.view(1, " + c +
                      ", " + hd + ")\n";
  std::string step = "                window = values[:, :, r:r + " + k + ", c:c + " + k +
                     "].reshape(h.size(0), " + c + ", 1, " + kk +
                     ")\n                ab = torch.matmul(window, gate).squeeze(2)\n";
  if (maps > 0) {
    setup += "        feature_filter = self.context_feature_weight.view(" + c + ", " +
             std::to_string(2 * maps) + ", " + kk +
             ").transpose(1, 2)\n        feature_gate = self.context_feature_gate_weight.view(" +
             c + ", " + std::to_string(2 * units) + ", " + fkk +
             ").transpose(1, 2)\n        feats = torch.zeros([h.size(0), " + c + ", " + f +
             ", height + " + fpadded + ", width + " + fpadded + "], dtype=h.dtype)\n";
    step +=
        "                fab = torch.matmul(window, feature_filter).squeeze(2)\n"
        "                feats[:, :, :, r + " +
        fp + ", c + " + fp + "] = torch.tanh(fab[:, :, :" + f + "]) * torch.sigmoid(fab[:, :, " +
        f + ":])\n                seen = feats[:, :, :, r:r + " + fk + ", c:c + " + fk +
        "].reshape(h.size(0), " + c + ", 1, " + fkk +
        ")\n                ab = ab + torch.matmul(seen, feature_gate).squeeze(2)\n";
  }
  if (gates_read_z()) {
    setup += "        logit = self.context_logit_weight.view(1, " + c + ", " +
             std::to_string(2 * units) + ")\n";
    step += "                ab = ab + logit * v.unsqueeze(2)\n";
  }
  step += "                v = v + (torch.tanh(ab[:, :, :" + hd + "]) * torch.sigmoid(ab[:, :, " +
          hd + ":]) * out).sum(2)\n";
  return methods + unrolled_script(c, k, p, padded, setup, step);
}

}  // namespace vae
