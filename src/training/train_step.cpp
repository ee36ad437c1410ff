#include "vae/training/train_step.h"

#include <torch/torch.h>

#include "vae/engine/engine.h"
#include "vae/engine/fused_adam.h"
#include "vae/objective/importance_sampling.h"

namespace vae {

TrainStep::TrainStep(VAE model, const TrainConfig& config, Communicator* comm)
    : model_(std::move(model)), config_(config), comm_(comm), objective_(config.objective) {
  const torch::optim::AdamOptions adam(config.lr);
  if (config.train_step == StepEngine::kFused) {
    mlp_ = training_engine(model_, config.train_step, config.objective, resolve_gemm(config.gemm));
    optimizer_ = std::make_unique<FusedAdam>(model_->parameters(), adam);
  } else {
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(), adam);
  }
}

std::string TrainStep::describe() const {
  if (config_.train_step != StepEngine::kFused) return "autograd + LibTorch Adam";
  const bool cpu = model_->parameters().front().device().is_cpu();
  return std::string(mlp_ ? "hand-derived MLP gradient" : "autograd") +
         (cpu ? " + fused Adam" : " + LibTorch Adam") +
         (mlp_ ? "; products: " + describe_gemm(gemm()) : std::string());
}

void TrainStep::set_lr(double lr) {
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

void TrainStep::apply() {
  if (config_.weight_decay > 0.0) {
    // AdamW (Loshchilov & Hutter 2019, Algorithm 2; PyTorch's AdamW): the
    // decay is scaled by the scheduled learning rate and kept out of Adam's
    // moments.
    torch::NoGradGuard no_grad;
    for (auto& group : optimizer_->param_groups()) {
      const double lr = static_cast<const torch::optim::AdamOptions&>(group.options()).lr();
      for (auto& p : group.params())
        if (p.grad().defined()) p.mul_(1.0 - lr * config_.weight_decay);
    }
  }
  optimizer_->step();
}

GemmBackend TrainStep::gemm() const {
  return mlp_ ? mlp_->gemm() : GemmBackend::kLibTorch;
}

StepTerms TrainStep::gradient(const torch::Tensor& x, int64_t batch, const Shard& shard,
                              double beta) {
  const int64_t d = config_.network.latent_dim(), noise = model_->noise_size();
  const double b = static_cast<double>(batch);
  // The noise is drawn for the whole global batch and sliced, so that every
  // rank's generator advances alike and the shards together see exactly the
  // noise one process would.
  if (objective_ == Objective::kIwae) {
    const torch::Tensor eps = torch::randn({batch, config_.iw_samples, noise}, x.options())
                                  .narrow(0, shard.begin, shard.count);
    const ElboTerms terms = iwae_terms(model_, x, config_.iw_samples, eps, batch);
    model_->zero_grad();
    terms.loss.backward();
    return {terms.loss.detach(), terms.recon.detach(), terms.kl.detach()};
  }
  const torch::Tensor eps =
      torch::randn({batch, noise}, x.options()).narrow(0, shard.begin, shard.count);
  const ElboSums sums = mlp_ ? mlp_->forward(x, eps) : model_->elbo_sums(x, eps);
  // Free bits compare the global batch's mean KL per dimension with the floor.
  torch::Tensor batch_kl = sums.kl_per_dim.detach().clone();
  if (comm_ != nullptr && config_.free_bits > 0.0) comm_->all_reduce(batch_kl);
  batch_kl.div_(b);
  const ElboTerms terms = elbo_terms(sums, shard.count, batch, beta, config_.free_bits, batch_kl);
  if (mlp_) {
    // d loss / d recon_sum = 1/b; d loss / d kl_sum_d = beta/b, or 0 where
    // free bits hold the dimension at its floor (see elbo_terms).
    torch::Tensor kl_weight = torch::full({d}, beta / b);
    if (config_.free_bits > 0.0) {
      kl_weight.masked_fill_(free_bits_held(batch_kl.to(torch::kCPU), config_.free_bits), 0.0);
    }
    mlp_->backward(1.0 / b, kl_weight);
  } else {
    model_->zero_grad();
    terms.loss.backward();
  }
  return {terms.loss.detach(), terms.recon.detach(), terms.kl.detach()};
}

StepTerms TrainStep::gradient_with_norm_test(const torch::Tensor& x, int64_t parts, double beta,
                                             NormTest& test) {
  const int64_t rows = x.size(0);
  const std::vector<torch::Tensor> params = model_->parameters();
  // Per parameter: the parts' gradients summed (the batch's) and their mean
  // gradients G_m summed; and sum_m ||G_m||^2.
  std::vector<torch::Tensor> sums(params.size()), mean_sums(params.size());
  double squares = 0.0;
  StepTerms total;
  for (int64_t m = 0; m < parts; ++m) {
    const Shard shard = shard_of(rows, m, parts);
    // The shard's sum of per-row gradients / rows: the parts add up to the
    // batch mean; rows / count of it is the part's mean gradient G_m.
    const StepTerms terms = gradient(x.narrow(0, shard.begin, shard.count), rows, shard, beta);
    const double scale = static_cast<double>(rows) / static_cast<double>(shard.count);
    for (size_t j = 0; j < params.size(); ++j) {
      const torch::Tensor& g = params[j].grad();
      if (!g.defined()) continue;
      const torch::Tensor flat = g.reshape({-1});
      squares += scale * scale * torch::dot(flat, flat).item<double>();
      sums[j] = sums[j].defined() ? sums[j].add_(g) : g.clone();
      mean_sums[j] = mean_sums[j].defined() ? mean_sums[j].add_(g, scale) : g * scale;
    }
    total.loss = m == 0 ? terms.loss : total.loss + terms.loss;
    total.recon = m == 0 ? terms.recon : total.recon + terms.recon;
    total.kl = m == 0 ? terms.kl : total.kl + terms.kl;
  }
  double mean_squared = 0.0;
  for (size_t j = 0; j < params.size(); ++j) {
    if (!sums[j].defined()) continue;
    const torch::Tensor flat = mean_sums[j].reshape({-1});
    mean_squared += torch::dot(flat, flat).item<double>();
    const_cast<torch::Tensor&>(params[j]).mutable_grad() = sums[j];
  }
  mean_squared /= static_cast<double>(parts * parts);
  test = norm_test(squares, mean_squared, parts);
  return total;
}

}  // namespace vae
