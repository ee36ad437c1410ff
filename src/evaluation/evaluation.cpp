#include "vae/evaluation/evaluation.h"

#include <torch/torch.h>

#include <limits>
#include <memory>

#include "vae/engine/engine.h"
#include "vae/evaluation/diagnostics.h"
#include "vae/model/gaussian_mutual_information.h"

namespace vae {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor cpu = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return {cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel()};
}

}  // namespace

EvalResult evaluate(VAE& model, const Batcher& data, const EvalOptions& options,
                    Communicator* comm) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();

  const int64_t rank = comm != nullptr ? comm->rank() : 0;
  const int64_t world = comm != nullptr ? comm->world_size() : 1;
  const int64_t n = data.size();
  const PosteriorFamily& family = model->posterior_family();
  const int64_t p = model->stats_size(), noise = model->noise_size();
  // A hierarchy has a KL term per coordinate of its code (latent_hierarchy.h).
  const bool hierarchy = !model->hierarchy().is_empty();
  const int64_t kl_dims = hierarchy                               ? model->code_dim()
                          : family.closed_form_kl(model->prior()) ? family.units(model->options())
                                                                  : 1;
  // One flat buffer: the posterior's stats [n, p], KL sums per dimension
  // [kl_dims], reconstruction sum [1]; a rank fills its batches' rows and
  // the zeros elsewhere make a sum all-reduce assemble the whole.
  const torch::Device device = data.device();
  torch::Tensor flat = torch::zeros({n * p + kl_dims + 1}, torch::TensorOptions(device));
  torch::Tensor stats = flat.narrow(0, 0, n * p).view({n, p});
  torch::Tensor kl_dim_sum = flat.narrow(0, n * p, kl_dims);
  torch::Tensor recon_sum = flat.narrow(0, n * p + kl_dims, 1);
  // The fully connected model's forward pass on the CPU: MlpGradient's
  // (no autograd bookkeeping, products on options.gemm, the likelihood in
  // one pass); the same sums as the modules' up to float rounding.
  const std::unique_ptr<MlpGradient> mlp = evaluation_engine(model, options.gemm);
  for (int64_t i = 0; i < data.num_batches(); ++i) {
    const int64_t rows = data.batch_rows(i);
    // Every rank draws every batch's noise (cheap), so that the generators
    // of all ranks advance alike.
    const torch::Tensor eps = torch::randn({rows, noise}, torch::TensorOptions(device));
    if (i % world != rank) continue;
    const torch::Tensor x = data.batch(i);
    const ElboSums sums = mlp ? mlp->forward(x, eps) : model->elbo_sums(x, eps);
    recon_sum.add_(sums.recon);
    kl_dim_sum.add_(sums.kl_per_dim);
    stats.narrow(0, i * data.batch_size(), rows).copy_(sums.stats);
  }
  model->train(was_training);
  if (comm != nullptr) comm->all_reduce(flat);

  const torch::Tensor stats_cpu = stats.to(torch::kCPU);
  EvalResult result;
  result.recon = recon_sum.item<double>() / static_cast<double>(n);
  result.kl_per_dim = to_vector(kl_dim_sum / static_cast<double>(n));
  for (double v : result.kl_per_dim)
    result.kl += v;
  result.neg_elbo = result.recon + result.kl;
  if (family.coordinate_units()) {
    const torch::Tensor variance =
        posterior_mean_variance(family.unit_means(stats_cpu, model->options()));
    result.mean_variance = to_vector(variance);
    result.active_units = variance.gt(options.active_threshold).sum().item<int64_t>();
  } else {
    for (double v : result.kl_per_dim)
      result.active_units += v > options.active_threshold ? 1 : 0;
  }
  const torch::Tensor unit_mi = family.unit_mutual_information(stats_cpu, model->options());
  if (unit_mi.defined()) result.mi_per_unit = to_vector(unit_mi);
  WorkSplit split;
  if (comm != nullptr) {
    split.rank = rank;
    split.world_size = world;
    split.sum = [comm](double partial) {
      torch::Tensor t =
          torch::full({1}, partial, torch::TensorOptions(comm->device()).dtype(torch::kFloat64));
      comm->all_reduce(t);
      return t.item<double>();
    };
  }
  // A hierarchy's upper layers are not Gaussian given x (mixtures over the
  // draws below): no estimator here.
  result.mutual_info = options.mutual_info && !hierarchy
                           ? family.mutual_information(stats_cpu, split)
                           : std::numeric_limits<double>::quiet_NaN();
  return result;
}

}  // namespace vae
