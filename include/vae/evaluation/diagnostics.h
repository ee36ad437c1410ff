// Posterior-collapse diagnostics, computed from the posterior parameters of a
// held-out set.
#pragma once

#include <torch/types.h>

namespace vae {

// Cov_x(E_q(z|x)[z_d]) for each latent dimension d: the variance of the
// posterior means over the data set (population variance), [D].
torch::Tensor posterior_mean_variance(const torch::Tensor& mu);

// Active units (Burda et al. 2015, sec. 5.2): the number of dimensions whose
// posterior mean varies with x, Cov_x(E_q[z_d]) > threshold (0.01 there).
int64_t count_active_units(const torch::Tensor& mu, double threshold = 0.01);

}  // namespace vae
