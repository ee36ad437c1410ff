#include "vae/model/vae_model.h"

#include <torch/torch.h>

#include "vae/model/gaussian.h"

namespace vae {

VAEImpl::VAEImpl(NetworkOptions options)
    : options_(std::move(options)), top_options_(options_.top_layer()) {
  encoder = register_module("encoder", Encoder(options_));
  decoder = register_module("decoder", Decoder(options_));
  // Registered only where the family has parameters, so that the other
  // families' checkpoints keep their layout.
  posterior_parameters_ = posterior_family().make_parameters(options_);
  if (posterior_parameters_) register_module("posterior", posterior_parameters_);
  // The prior of a hierarchy is its top layer's.
  prior_parameters_ = prior().make_parameters(top_options_);
  if (prior_parameters_) register_module("prior", prior_parameters_);
  if (options_.latent_layers() > 1)
    hierarchy_ = register_module("hierarchy", LatentHierarchy(options_));
}

PriorContext VAEImpl::prior_context() {
  if (!hierarchy_)
    return {options_, prior_parameters_, [this](const torch::Tensor& x) { return encode(x); }};
  // The prior of a hierarchy is over its top layer; the VampPrior's
  // components are the top layer's q at the pseudo-inputs along the means
  // (latent_hierarchy.h).
  return {top_options_, prior_parameters_, [this](const torch::Tensor& x) {
            auto [mu, logvar] = hierarchy_->mean_pass(encoder->forward(x));
            const int64_t top = top_options_.latent_dim(), at = code_dim() - top;
            return posterior_family().read(
                torch::cat({mu.narrow(-1, at, top), logvar.narrow(-1, at, top)}, -1), top_options_,
                nullptr);
          }};
}

std::unique_ptr<Posterior> VAEImpl::encode(const torch::Tensor& x) {
  return read_posterior(encoder->forward(x));
}

std::unique_ptr<Posterior> VAEImpl::read_posterior(const torch::Tensor& stats) const {
  if (hierarchy_) return hierarchical_posterior(stats, *hierarchy_);
  return posterior_family().read(stats, options_, posterior_parameters_);
}

int64_t VAEImpl::stats_size() const {
  return hierarchy_ ? 2 * code_dim() : posterior_family().stats_size(options_);
}

int64_t VAEImpl::noise_size() const {
  return hierarchy_ ? code_dim() : posterior_family().noise_size(options_);
}

torch::Tensor VAEImpl::log_prior(const torch::Tensor& z) {
  if (!hierarchy_) return prior().log_prob(z, prior_context());
  const int64_t top = options_.layer_dims().back();
  return hierarchy_->log_conditional_prior(z) +
         prior().log_prob(z.narrow(-1, code_dim() - top, top), prior_context());
}

torch::Tensor VAEImpl::sample_codes(int64_t n, double temperature, at::Generator& generator) {
  const torch::Tensor top = prior().sample(n, prior_context(), temperature, generator);
  if (!hierarchy_) return top;
  torch::NoGradGuard no_grad;
  const torch::Device device = parameters().front().device();
  return hierarchy_->generate(top.to(device), temperature, generator).to(torch::kCPU);
}

void VAEImpl::set_temperature(double tau) {
  if (!posterior_parameters_) return;
  for (auto& buffer : posterior_parameters_->named_buffers(/*recurse=*/false)) {
    if (buffer.key() == "temperature") buffer.value().fill_(tau);
  }
}

torch::Tensor VAEImpl::decode(const torch::Tensor& z) {
  return decoder->forward(hierarchy_ ? z.narrow(-1, 0, options_.latent_dim()) : z);
}

torch::Tensor VAEImpl::generate(const torch::Tensor& z) {
  return decoder->mean(decode(z));
}

ElboSums VAEImpl::elbo_sums(const torch::Tensor& x, const torch::Tensor& eps) {
  const torch::Tensor stats = encoder->forward(x);
  if (hierarchy_) {
    const HierarchyDraw draw = hierarchy_->draw(stats, eps);
    ElboSums sums{decoder->log_likelihood_sum(x, decode(draw.z)).neg(),
                  top_prior_kl(draw.z, draw.kl).sum(0),
                  {}};
    // The monitor's statistics, which only evaluation (eval mode) reads:
    // not worth a pass of the upper networks in every training step.
    if (!is_training()) {
      torch::NoGradGuard no_grad;
      auto [mu, logvar] = hierarchy_->mean_pass(stats);
      sums.stats = torch::cat({mu, logvar}, 1);
    }
    return sums;
  }
  const std::unique_ptr<Posterior> q = read_posterior(stats);
  // Without a closed-form KL, log q(z|x) - log p(z) at the draw.
  const bool closed_form = posterior_family().closed_form_kl(prior());
  const PosteriorDraw draw =
      closed_form ? PosteriorDraw{q->rsample(eps), {}} : q->rsample_with_log_prob(eps);
  const torch::Tensor recon = decoder->log_likelihood_sum(x, decode(draw.z)).neg();
  const torch::Tensor kl =
      closed_form ? q->kl_per_dim(prior()) : (draw.log_q - log_prior(draw.z)).unsqueeze(1);
  return {recon, kl.sum(0), stats};
}

torch::Tensor VAEImpl::top_prior_kl(const torch::Tensor& z, const torch::Tensor& kl) {
  if (prior().standard_normal()) return kl;
  // The draw's top-layer terms are KL(q || N(0, I)) per coordinate; a
  // learned prior adds log N(z_L; 0, I) - log p(z_L) at the draw, shared
  // equally by the top layer's coordinates (no per-coordinate split of a
  // mixture), so that each layer's sum stays unbiased for its KL.
  const int64_t top = top_options_.latent_dim(), at = code_dim() - top;
  const torch::Tensor z_top = z.narrow(-1, at, top);
  const torch::Tensor share =
      (log_normal_diag(z_top, torch::zeros_like(z_top), torch::zeros_like(z_top)) -
       prior().log_prob(z_top, prior_context())) /
      static_cast<double>(top);
  return torch::cat({kl.narrow(-1, 0, at), kl.narrow(-1, at, top) + share.unsqueeze(-1)}, -1);
}

ElboTerms VAEImpl::elbo(const torch::Tensor& x, double beta, double free_bits) {
  const int64_t batch = x.size(0);
  const torch::Tensor eps = torch::randn({batch, noise_size()}, x.options().dtype(torch::kFloat32));
  const ElboSums sums = elbo_sums(x, eps);
  return elbo_terms(sums, batch, batch, beta, free_bits,
                    sums.kl_per_dim.detach() / static_cast<double>(batch));
}

torch::Tensor free_bits_held(const torch::Tensor& batch_kl_per_dim, double free_bits) {
  return batch_kl_per_dim.lt(free_bits);
}

ElboTerms elbo_terms(const ElboSums& sums, int64_t shard_rows, int64_t batch, double beta,
                     double free_bits, const torch::Tensor& batch_kl_per_dim) {
  const double b = static_cast<double>(batch);
  ElboTerms terms;
  terms.recon = sums.recon / b;
  terms.kl_per_dim = sums.kl_per_dim / b;
  terms.kl = terms.kl_per_dim.sum();
  torch::Tensor kl_objective = terms.kl;
  if (free_bits > 0.0) {
    // max(floor, KL_d) per dimension of the batch-mean KL; the gradient
    // passes where KL_d >= floor, as for clamp_min.
    const torch::Tensor floor_share =
        torch::full_like(terms.kl_per_dim, free_bits * static_cast<double>(shard_rows) / b);
    kl_objective =
        torch::where(free_bits_held(batch_kl_per_dim, free_bits), floor_share, terms.kl_per_dim)
            .sum();
  }
  terms.loss = terms.recon + beta * kl_objective;
  return terms;
}

}  // namespace vae
