#include "vae/objective/importance_sampling.h"

#include <torch/torch.h>

#include <cmath>

#include "vae/runtime/error.h"

namespace vae {

LogJoint vae_log_joint(VAE& model) {
  return [&model](const torch::Tensor& x, const torch::Tensor& z) {
    return model->decoder->log_likelihood(x, model->decode(z)) + model->log_prior(z);
  };
}

LogJointOfCopies vae_log_joint_of_copies(VAE& model) {
  return [&model](const torch::Tensor& x, const torch::Tensor& z, int64_t copies) {
    return model->decoder->log_likelihood_of_copies(x, model->decode(z), copies) +
           model->log_prior(z);
  };
}

torch::Tensor log_importance_weights(const torch::Tensor& x, const Posterior& q, int64_t k,
                                     const LogJoint& log_joint, int64_t max_rows,
                                     const torch::Tensor& eps) {
  // x repeated c times per data point, [n * c, ...]: row i * c + j is x[i].
  // Every chunk but the last has the same c, and shares one copy.
  torch::Tensor x_rep;
  const auto joint = [&](const torch::Tensor& images, const torch::Tensor& z, int64_t c) {
    if (!x_rep.defined() || x_rep.size(0) != images.size(0) * c) {
      std::vector<int64_t> rep_shape = {images.size(0), c}, flat_shape = {images.size(0) * c};
      for (int64_t s = 1; s < images.dim(); ++s) {
        rep_shape.push_back(images.size(s));
        flat_shape.push_back(images.size(s));
      }
      x_rep = images.unsqueeze(1).expand(rep_shape).reshape(flat_shape);
    }
    return log_joint(x_rep, z);
  };
  return log_importance_weights(x, q, k, LogJointOfCopies(joint), max_rows, eps);
}

torch::Tensor log_importance_weights(const torch::Tensor& x, const Posterior& q, int64_t k,
                                     const LogJointOfCopies& log_joint, int64_t max_rows,
                                     const torch::Tensor& eps) {
  if (k < 1) throw Error("the number of importance samples must be at least 1");
  const int64_t n = x.size(0), noise = q.noise_size();
  // Samples per chunk: all n data points times `per_chunk` codes each.
  const int64_t per_chunk =
      std::max<int64_t>(1, std::min<int64_t>(k, max_rows / std::max<int64_t>(n, 1)));
  // The noise's dtype and device: the posterior's (evaluated once: a flow's
  // mean runs the flow).
  const torch::TensorOptions noise_options = eps.defined() ? eps.options() : q.mean().options();
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < k; start += per_chunk) {
    const int64_t c = std::min(per_chunk, k - start);
    // [n, c, d] codes, flattened row-major: data point i owns rows i*c .. i*c+c-1.
    const std::unique_ptr<Posterior> qc = q.expand(c);
    const PosteriorDraw draw = qc->rsample_with_log_prob(
        eps.defined() ? eps.narrow(1, start, c) : torch::randn({n, c, noise}, noise_options));
    const torch::Tensor& z = draw.z;
    const torch::Tensor& log_q = draw.log_q;  // [n, c]
    const int64_t d = z.size(-1);
    const torch::Tensor log_p = log_joint(x, z.reshape({n * c, d}), c).view({n, c});
    chunks.push_back(log_p - log_q);
  }
  return torch::cat(chunks, 1);
}

torch::Tensor log_mean_exp(const torch::Tensor& log_w, int64_t k) {
  const torch::Tensor first = log_w.narrow(1, 0, k);
  return torch::logsumexp(first, 1) - std::log(static_cast<double>(k));
}

ElboTerms iwae_terms(VAE& model, const torch::Tensor& x, int64_t k, const torch::Tensor& eps,
                     int64_t batch) {
  const double b = static_cast<double>(batch > 0 ? batch : x.size(0));
  const std::unique_ptr<Posterior> q = model->encode(x);
  const torch::Tensor log_w =
      log_importance_weights(x, *q, k, vae_log_joint_of_copies(model), x.size(0) * k, eps);
  ElboTerms terms;
  terms.loss = -log_mean_exp(log_w, k).sum() / b;
  torch::Tensor kl = q->kl_per_dim(model->prior());
  if (!kl.defined()) {
    // No closed form: log q(z|x) - log p(z) at one more draw per image.
    const PosteriorDraw draw =
        q->rsample_with_log_prob(torch::randn({x.size(0), q->noise_size()}, q->mean().options()));
    kl = (draw.log_q - model->log_prior(draw.z)).unsqueeze(1);
  }
  terms.kl_per_dim = (kl.sum(0) / b).detach();
  terms.kl = terms.kl_per_dim.sum();
  // -E_q[log p(x|z)] = -(ELBO) - KL, with the ELBO estimated by the mean log weight.
  terms.recon = (-log_w.mean(1).sum() / b - terms.kl).detach();
  return terms;
}

}  // namespace vae
