// MlpGradient::covers: which models the hand-derived gradient computes,
// read off the modules it would differentiate.
#include <torch/torch.h>

#include <string>

#include "vae/engine/layer_pattern.h"
#include "vae/engine/mlp_gradient.h"

namespace vae {

bool MlpGradient::covers(const VAE& model) {
  // The model parts the derivation assumes (see the header).
  const NetworkOptions& o = model->options();
  const std::string likelihood = o.likelihood()->name();
  if (std::string(o.posterior()->name()) != "diagonal-gaussian" || !o.prior()->standard_normal() ||
      (likelihood != "bernoulli" && likelihood != "gaussian")) {
    return false;
  }
  // The layers it differentiates, read off the modules themselves: encoder
  // Flatten, (Linear, ReLU)*, then the Linear head; decoder (Linear, ReLU)*,
  // Linear, Unflatten. Anything else (a conv, a norm, another activation)
  // takes autograd.
  if (!layers_are(model->encoder->body(), "F", "LR", "") ||
      !layers_are(model->decoder->body(), "", "LR", "LU") ||
      !model->encoder->head()->bias.defined()) {
    return false;
  }
  // No autoregressive decoder, and no parameter or module beyond those
  // layers (and the Gaussian's log sigma).
  if (!model->decoder->context().is_empty()) return false;
  int64_t expected = 2 * static_cast<int64_t>(model->encoder->body()->size() / 2 + 1 +
                                              model->decoder->body()->size() / 2);
  if (o.likelihood()->has_scale() && o.learn_sigma()) ++expected;
  if (static_cast<int64_t>(model->parameters().size()) != expected) return false;
  for (const auto& child : model->children()) {
    if (child.get() != model->encoder.ptr().get() && child.get() != model->decoder.ptr().get()) {
      return false;
    }
  }
  for (const auto& p : model->parameters()) {
    if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat32) return false;
  }
  return true;
}

}  // namespace vae
