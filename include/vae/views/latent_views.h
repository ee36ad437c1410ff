// Which latent codes to decode for each picture of a trained model: prior
// samples, interpolations, traversals, the 2-D manifold, and the ordering and
// projection of latent dimensions. Pure tensor functions, on the CPU.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "vae/model/vae_model.h"

namespace vae {

// n codes z from the prior, the spread scaled by temperature (N(0, t^2 I)
// for the standard normal), from a private generator seeded by `seed`.
torch::Tensor prior_codes(VAEImpl& model, int64_t n, double temperature, uint64_t seed);

// `steps` codes from a to b (both ends included). Linear: (1-t) a + t b.
// Spherical (Shoemake 1985; White 2016, "Sampling Generative Networks"):
// sin((1-t) w) / sin w * a + sin(t w) / sin w * b, w the angle between a and
// b, which keeps the codes at the norms typical of N(0, I).
torch::Tensor interpolate_codes(const torch::Tensor& a, const torch::Tensor& b, int64_t steps,
                                bool spherical);

// For each dimension in `dims` (one row each), `steps` codes equal to
// `center` except that dimension, swept linearly over [-range, range].
// Returns [dims.size() * steps, D], row-major.
torch::Tensor traversal_codes(const torch::Tensor& center, const std::vector<int64_t>& dims,
                              int64_t steps, double range);

// An n x n grid over dimensions a (columns) and b (rows, top to bottom
// decreasing), others 0, at the Gaussian inverse CDF of evenly spaced
// probabilities (i + 0.5) / n (Kingma & Welling 2013, fig. 4). [n*n, D].
torch::Tensor manifold_codes(int64_t dim, int64_t a, int64_t b, int64_t n);

// Latent dimensions ordered by decreasing KL (most informative first).
std::vector<int64_t> dims_by_kl(const std::vector<double>& kl_per_dim);

// Projects points [N, D] onto their first k principal components (centred),
// with signs fixed so that each component's largest loading is positive.
torch::Tensor pca_project(const torch::Tensor& points, int64_t k = 2);

}  // namespace vae
