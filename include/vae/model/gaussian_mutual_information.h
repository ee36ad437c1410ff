// The mutual information between x and z under a diagonal Gaussian
// posterior, for the collapse monitor (evaluation.h reports it).
#pragma once

#include <torch/types.h>

#include <functional>

namespace vae {

// Mutual information I(x; z) under q(x, z) = p_data(x) q(z|x), estimated as in
// He et al. 2019 ("Lagging Inference Networks", app. B):
//   I = E_x[E_q(z|x) log q(z|x)] - E_q(z) log q(z),
// the first term in closed form (minus the Gaussian entropy), the aggregate
// posterior q(z) ~ (1/N) sum_j q(z | x_j) over the same N points, evaluated at
// one sample z_i ~ q(z|x_i) per point. All N x N densities are computed, in
// row chunks, with one matrix product per chunk. Bounded above by log N.
//
// `split` shares the N x N work among processes that all hold the same mu and
// logvar (data-parallel evaluation): each computes the rows of its shard and
// `sum` adds a partial sum over the processes. Every process draws the same
// N samples, so their random generators stay in step.
struct WorkSplit {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::function<double(double)> sum;  // empty: a single process
};
double mutual_information(const torch::Tensor& mu, const torch::Tensor& logvar,
                          const WorkSplit& split = {});

}  // namespace vae
