#include "vae/evaluation/likelihood_eval.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "vae/data/batcher.h"
#include "vae/evaluation/fast_log_joint.h"
#include "vae/objective/importance_sampling.h"
#include "vae/runtime/error.h"
#include "vae/runtime/progress.h"

namespace vae {

std::vector<double> LikelihoodEvalResult::per_image_neg_log_px() const {
  const torch::Tensor v = (-per_image_log_px).to(torch::kCPU, torch::kFloat64).contiguous();
  return {v.data_ptr<double>(), v.data_ptr<double>() + v.numel()};
}

double LikelihoodEvalResult::bits_per_dim(double nats) const {
  return -nats / (static_cast<double>(pixels) * std::log(2.0));
}

nlohmann::json LikelihoodEvalResult::to_json() const {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& [kk, value] : k_curve)
    curve.push_back({{"k", kk}, {"log_px", value}});
  return {{"images", images},
          {"k", k},
          {"log_px", log_px},
          {"log_px_se", log_px_se},
          {"neg_log_px", -log_px},
          {"elbo", elbo},
          {"elbo_se", elbo_se},
          {"neg_elbo", -elbo},
          {"gap", gap},
          {"bits_per_dim", bits_per_dim(log_px)},
          {"bits_per_dim_elbo", bits_per_dim(elbo)},
          {"k_curve", curve},
          {"seconds", seconds},
          {"images_per_s", images / std::max(seconds, 1e-9)}};
}

LikelihoodEvalResult evaluate_log_likelihood(VAE& model, const torch::Tensor& images,
                                             torch::Device device,
                                             const LikelihoodEvalOptions& options) {
  if (options.k < 1) throw Error("--k must be at least 1");
  if (options.batch_size < 1) throw Error("--batch-size must be at least 1");
  for (int64_t kk : options.k_curve) {
    if (kk < 1 || kk > options.k) {
      throw Error("--k-curve values must lie in 1.." + std::to_string(options.k) + ", not " +
                  std::to_string(kk));
    }
  }
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = images.size(0);
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  std::vector<torch::Tensor> log_px, elbo;
  std::vector<double> curve_sums(options.k_curve.size(), 0.0);
  std::unique_ptr<Progress> progress;
  if (options.log != nullptr) {
    progress = std::make_unique<Progress>(*options.log, options.terminal,
                                          "eval k=" + std::to_string(options.k), batches, 10);
  }
  const LogJoint joint = evaluation_log_joint(model);
  for (int64_t i = 0; i < batches; ++i) {
    const int64_t first = i * options.batch_size;
    const int64_t count = std::min(options.batch_size, n - first);
    const torch::Tensor x = to_model_input(images.narrow(0, first, count), device);
    const std::unique_ptr<Posterior> q = model->encode(x);
    const torch::Tensor log_w =
        log_importance_weights(x, *q, options.k, joint, options.max_rows).to(torch::kFloat64);
    log_px.push_back(log_mean_exp(log_w, options.k).to(torch::kCPU));
    elbo.push_back(log_w.mean(1).to(torch::kCPU));
    for (size_t c = 0; c < options.k_curve.size(); ++c) {
      const int64_t kk = options.k_curve[c], groups = options.k / kk;
      const torch::Tensor grouped = log_w.narrow(1, 0, groups * kk).reshape({count, groups, kk});
      curve_sums[c] += (torch::logsumexp(grouped, 2) - std::log(static_cast<double>(kk)))
                           .mean(1)
                           .sum()
                           .item<double>();
    }
    if (progress && progress->due(i + 1)) {
      progress->update(i + 1, i + 1, -torch::cat(log_px).mean().item<double>(), first + count);
    }
  }
  if (progress) progress->finish();
  model->train(was_training);

  LikelihoodEvalResult result;
  result.images = n;
  result.k = options.k;
  result.pixels = images.numel() / std::max<int64_t>(n, 1);
  result.per_image_log_px = torch::cat(log_px);
  result.per_image_elbo = torch::cat(elbo);
  const double root_n = std::sqrt(static_cast<double>(n));
  result.log_px = result.per_image_log_px.mean().item<double>();
  result.log_px_se = n > 1 ? result.per_image_log_px.std().item<double>() / root_n : 0.0;
  result.elbo = result.per_image_elbo.mean().item<double>();
  result.elbo_se = n > 1 ? result.per_image_elbo.std().item<double>() / root_n : 0.0;
  result.gap = result.log_px - result.elbo;
  for (size_t c = 0; c < options.k_curve.size(); ++c) {
    result.k_curve.emplace_back(options.k_curve[c], curve_sums[c] / static_cast<double>(n));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace vae
