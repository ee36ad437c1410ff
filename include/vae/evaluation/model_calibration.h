// Simulation-based calibration of a trained VAE's amortized posterior: its
// decoder is a simulator, so each simulation costs one decoder and one
// encoder pass (Talts et al. 2018, algorithm 1):
//   z* ~ p(z) (the model's prior; a hierarchy ancestrally),
//   x ~ p(x|z*) (a draw, not the mean; pixel by pixel with an
//       autoregressive decoder),
//   z_1..z_L ~ q(z|x),
// and per unit the rank of z* among the draws (calibration.h). Also the
// rank of log q(z*|x) among the draws' log q, for the joint highest-density
// regions, and on real held-out images the posterior predictive check of
// the pixels.
#pragma once

#include <torch/types.h>

#include <ostream>
#include <string>
#include <vector>

#include "vae/evaluation/calibration.h"
#include "vae/model/vae_model.h"

namespace vae {

struct CalibrationOptions {
  int64_t simulations = 1000;
  int64_t draws = 99;   // L posterior draws per simulation
  int64_t rows = 1000;  // codes per pass (simulations x draws)
  uint64_t seed = 1;
  std::ostream* log = nullptr;  // progress bar
  bool terminal = false;
};

struct SimulationRanks {
  torch::Tensor ranks;             // [S, U] int64 in 0..L, U the units (calibration_values)
  torch::Tensor density_pit;       // [S]: the highest-density PIT of z* (calibration.h)
  std::vector<std::string> names;  // [U]: z3; a hierarchy's z1.3, z2.0; categorical c3
  std::vector<int64_t> layer_of;   // [U]: the stochastic layer of each unit (0 = bottom)
  int64_t draws = 0;
  double seconds = 0.0;
};

// The simulations, in eval mode and without autograd, on `device`.
SimulationRanks simulate_ranks(VAEImpl& model, torch::Device device,
                               const CalibrationOptions& options);

// The posterior predictive check on held-out images, uint8 [N, H, W]:
// per image L codes from q(z|x), per code and pixel the predictive
// distribution p(x_i | z, x_<i) that scores it (the likelihood family on
// Decoder::conditioned), and
//   the PIT of each observed pixel among draws from it (randomized, so
//   binary pixels count too): its central-interval coverage curve;
//   for a binary likelihood on binary pixels, the predicted probability E_q[p(x_i = 1 | z, x_<i)]
//   against the observed pixel: the reliability diagram.
struct PredictiveCheck {
  CoverageCurve coverage;
  bool binary = false;
  Reliability reliability;  // binary data only
  int64_t images = 0, pixels = 0;
  double seconds = 0.0;
};
PredictiveCheck predictive_check(VAEImpl& model, const torch::Tensor& images, torch::Device device,
                                 const CalibrationOptions& options);

}  // namespace vae
