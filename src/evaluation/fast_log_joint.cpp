#include "vae/evaluation/fast_log_joint.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstring>
#include <memory>

#include "vae/engine/likelihood_rows.h"
#include "vae/engine/mlp_decoder_pass.h"

namespace vae {
namespace {

bool fusable(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && !t.requires_grad();
}

}  // namespace

torch::Tensor bernoulli_log_prob_fused(const torch::Tensor& x, const torch::Tensor& logits) {
  const int64_t rows = logits.size(0), pixels = logits.numel() / std::max<int64_t>(rows, 1);
  const torch::Tensor xc = x.reshape({rows, pixels}).contiguous();
  const torch::Tensor lc = logits.reshape({rows, pixels}).contiguous();
  torch::Tensor out = torch::empty({rows}, lc.options());
  const float* px = xc.data_ptr<float>();
  const float* pl = lc.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      po[i] = bernoulli_row_log_prob(px + i * pixels, pl + i * pixels, nullptr, pixels);
  });
  return out;
}

LogJoint evaluation_log_joint(VAE& model) {
  const bool bernoulli = std::strcmp(model->likelihood().name(), "bernoulli") == 0;
  std::shared_ptr<MlpDecoderPass> pass;
  if (MlpDecoderPass::covers(model)) pass = std::make_shared<MlpDecoderPass>(model);
  return [&model, bernoulli, pass](const torch::Tensor& x, const torch::Tensor& z) {
    if (pass && fusable(x) && fusable(z)) return pass->log_likelihood(x, z) + model->log_prior(z);
    const torch::Tensor output = model->decode(z);
    const torch::Tensor log_px_z =
        bernoulli && fusable(output) && fusable(x)
            ? bernoulli_log_prob_fused(x, model->decoder->conditioned(x, output))
            : model->decoder->log_likelihood(x, output);
    return log_px_z + model->log_prior(z);
  };
}

}  // namespace vae
