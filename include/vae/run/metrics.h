// Per-epoch metrics of a run and their CSV files. The history lives in the
// checkpoint, and the CSV files are rewritten from it after each epoch, so a
// run killed between the two writes loses nothing on --resume.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace vae {

struct EpochMetrics {
  int64_t epoch = 0;
  int64_t step = 0;                   // optimisation steps done at the end of the epoch
  double beta = 0.0;                  // KL weight at the epoch's last step
  double temperature = std::nan("");  // relaxed posteriors: tau at the epoch's last step
  double lr = std::nan("");           // a learning-rate schedule: the rate of the last step
  double train_loss = 0.0;            // the objective optimised (beta, free bits)
  double train_neg_elbo = 0.0;
  double train_recon = 0.0;
  double train_kl = 0.0;
  double valid_neg_elbo = std::nan("");  // --valid-size: the validation set's -ELBO
  // --ema-decay with --valid-size: the validation -ELBO of the trained
  // weights (valid_neg_elbo and the test numbers are the average's).
  double valid_trained_neg_elbo = std::nan("");
  // An epoch that trained the IWAE bound L_k (--objective iwae,
  // --iwae-from-epoch) with --valid-size: the validation set's -L_k, which
  // then chooses best.pt, and its k.
  double valid_neg_iwae = std::nan("");
  int64_t valid_iw_samples = 0;
  // --eval-every: false for an epoch whose test set was not scored; its
  // test numbers are then NaN and its per-unit vectors empty.
  bool tested = true;
  double test_neg_elbo = 0.0;
  double test_recon = 0.0;
  double test_kl = 0.0;
  int64_t active_units = 0;
  double mutual_info = 0.0;
  double seconds = 0.0;       // training time of the epoch
  double eval_seconds = 0.0;  // test-set evaluation time
  double images_per_s = 0.0;  // training throughput
  int64_t world_size = 1;     // data-parallel processes
  double allreduce_ms = 0.0;  // gradient all-reduce per step (0: one process)
  // --batch-size auto: the epoch's batch (0: a fixed batch, the config's),
  // and the means of its norm tests (training/norm_test.h): the gradient
  // noise ||Var||_1 / b and the signal ||E g||^2.
  int64_t batch_size = 0;
  double norm_noise = std::nan("");
  double norm_signal = std::nan("");
  std::vector<double> kl_per_dim;     // test set, nats
  std::vector<double> mean_variance;  // test set, Cov_x(E_q[z_d]) (empty: units active by KL)
  std::vector<double> mi_per_dim;     // test set, I(x; unit) where exact (categorical variables)
};

nlohmann::json to_json(const EpochMetrics& m);
EpochMetrics epoch_metrics_from_json(const nlohmann::json& j);

// metrics.csv: a header and one row per epoch; a `tau` column for runs with
// a temperature, an `lr` column for runs with a learning-rate schedule, a
// `valid_neg_elbo` column for runs with a validation set, a `valid_neg_iwae`
// column for those that trained the IWAE bound, `batch_size`, `norm_noise`
// and `norm_signal` columns for --batch-size auto.
std::string metrics_csv(const std::vector<EpochMetrics>& history);
// Whether unit d counts as active: by the spread of its means across the
// test set (Burda et al. 2015) where the run recorded them, else (units that
// are not coordinates: categorical variables) by its KL.
bool unit_active(const std::vector<double>& kl_per_dim, const std::vector<double>& mean_variance,
                 size_t d, double threshold);

// kl_per_dim.csv: one row per epoch and unit (latent dimension, or
// categorical variable): epoch, dim, kl (empty where the run has one Monte
// Carlo KL for the whole code), mean variance (empty where units are active
// by their KL), active, and mutual_info where the run has it
// (long format: plots and spreadsheets read it directly). With the widths of
// more than one latent layer, a `layer` column (1 = bottom) after `dim`.
std::string kl_per_dim_csv(const std::vector<EpochMetrics>& history, double active_threshold,
                           const std::vector<int64_t>& layer_dims = {});

// One latent layer's units at an epoch: how many are active, of how many,
// and the layer's KL (nats).
struct LayerActivity {
  int64_t active = 0;
  int64_t units = 0;
  double kl = 0.0;
};
// Per layer of widths `layer_dims` (bottom first), the code's coordinates
// taken in that order.
std::vector<LayerActivity> layer_activity(const EpochMetrics& m,
                                          const std::vector<int64_t>& layer_dims,
                                          double active_threshold);

// The line `vae train` prints after an epoch; with more than one layer,
// each layer's active units and KL.
std::string epoch_summary(const EpochMetrics& m, int64_t latent_dim,
                          const std::vector<LayerActivity>& layers = {});
// `value` with `digits` decimals, as the log lines print numbers.
std::string fixed(double value, int digits);

}  // namespace vae
