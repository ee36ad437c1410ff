// Adaptive minibatch sizes for stochastic variational inference: the norm
// test of Byrd, Chin, Nocedal & Wu 2012 (eq. 3.9). A batch of b rows is
// large enough while its gradient's noise is small against the gradient:
//   ||Var_i(g_i)||_1 / b <= theta^2 ||g||^2,
// g_i the rows' gradients, Var_i their variance per parameter (summed: the
// 1-norm), g the batch mean. Per-row gradients are estimated from M
// micro-batches' mean gradients G_m of b / M rows each: Var(G_m) =
// Var_i(g_i) M / b, so
//   ||Var_i(g_i)||_1 / b  ~=  (1 / M) (1 / (M - 1)) sum_m ||G_m - g||^2,
// an unbiased estimate for rows drawn independently.
#pragma once

#include <torch/types.h>

#include <vector>

namespace vae {

// The squared norm of the batch mean overstates ||E g||^2 by the noise
// itself (E ||g_mean||^2 = ||E g||^2 + ||Var||_1 / b), which would let the
// test ask for at most 1 / theta^2 times the batch; `signal` is the
// unbiased ||g_mean||^2 - noise, negative when the noise drowns the mean.
struct NormTest {
  double noise = 0.0;   // ||Var_i(g_i)||_1 / b, estimated
  double signal = 0.0;  // ||E g||^2, estimated
  bool holds(double theta) const { return signal > 0.0 && noise <= theta * theta * signal; }
  // The batch for which the test would hold, Byrd et al.'s eq. 3.12:
  // b (||Var||_1 / b) / (theta^2 ||g||^2), rounded up; the largest int64
  // when the signal is not positive.
  int64_t wanted(int64_t batch, double theta) const;
};

// From M >= 2 micro-batches' mean gradients, each flattened [P] (equal row
// counts).
NormTest norm_test(const std::vector<torch::Tensor>& micro_means);
// The same from sums a step keeps without storing the parts: squares =
// sum_m ||G_m||^2 and mean_squared = ||(1/M) sum_m G_m||^2, as
// sum_m ||G_m - G||^2 = squares - M ||G||^2.
NormTest norm_test(double squares, double mean_squared, int64_t parts);

// The batch for the next epoch from this epoch's tests: while the mean noise
// is at most theta^2 times the mean signal the batch stays; otherwise it
// grows to what the means want, within [batch, batch_max] (never shrinks).
int64_t next_batch_size(int64_t batch, const std::vector<NormTest>& epoch, double theta,
                        int64_t batch_max);

}  // namespace vae
