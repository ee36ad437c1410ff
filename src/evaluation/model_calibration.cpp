#include "vae/evaluation/model_calibration.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "vae/data/batcher.h"
#include "vae/runtime/error.h"
#include "vae/runtime/progress.h"

namespace vae {
namespace {

// Eval mode for a scope (dropout-free networks, exact categorical draws),
// set back at its end.
class EvalScope {
 public:
  explicit EvalScope(VAEImpl& model) : model_(model), was_training_(model.is_training()) {
    model_.eval();
  }
  ~EvalScope() { model_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  VAEImpl& model_;
  bool was_training_;
};

std::unique_ptr<Progress> progress_of(const CalibrationOptions& options, const std::string& label,
                                      int64_t steps) {
  if (options.log == nullptr) return nullptr;
  auto progress = std::make_unique<Progress>(*options.log, options.terminal, label, steps, 10);
  progress->set_value_name("inside 90%");
  return progress;
}

void check_options(const CalibrationOptions& options, bool simulating) {
  if (simulating && options.simulations < 2) throw Error("--simulations must be at least 2");
  if (options.draws < 2) throw Error("--draws must be at least 2");
  if (options.rows < 1) throw Error("calibration needs at least one row per pass");
}

// The units' names and stochastic layers: a hierarchy's z<layer>.<index>,
// a categorical posterior's variables c<index>, else z<index>.
void name_units(VAEImpl& model, int64_t units, SimulationRanks& out) {
  if (model.hierarchy()) {
    const std::vector<int64_t> dims = model.options().layer_dims();
    for (size_t l = 0; l < dims.size(); ++l) {
      for (int64_t i = 0; i < dims[l]; ++i) {
        out.names.push_back("z" + std::to_string(l + 1) + "." + std::to_string(i));
        out.layer_of.push_back(static_cast<int64_t>(l));
      }
    }
  } else {
    const char* prefix = model.posterior_family().coordinate_units() ? "z" : "c";
    for (int64_t i = 0; i < units; ++i) {
      out.names.push_back(prefix + std::to_string(i));
      out.layer_of.push_back(0);
    }
  }
  if (static_cast<int64_t>(out.names.size()) != units)
    throw Error("internal: calibration found " + std::to_string(units) + " units, named " +
                std::to_string(out.names.size()));
}

}  // namespace

SimulationRanks simulate_ranks(VAEImpl& model, torch::Device device,
                               const CalibrationOptions& options) {
  check_options(options, true);
  const auto start = std::chrono::steady_clock::now();
  c10::InferenceMode inference;
  EvalScope eval(model);
  auto generator = at::detail::createCPUGenerator(options.seed);
  const int64_t per_pass = std::max<int64_t>(1, options.rows / options.draws);
  const int64_t passes = (options.simulations + per_pass - 1) / per_pass;
  const int64_t draws = options.draws;
  const PosteriorFamily& family = model.posterior_family();
  std::unique_ptr<Progress> progress = progress_of(options, "calibrate", passes);
  std::vector<torch::Tensor> ranks, density;
  int64_t inside = 0, counted = 0;
  for (int64_t pass = 0; pass < passes; ++pass) {
    const int64_t n = std::min(per_pass, options.simulations - pass * per_pass);
    // z* ~ p(z), x ~ p(x|z*), then L draws from q(z|x).
    const torch::Tensor truth = model.sample_codes(n, 1.0, generator).to(device);
    const torch::Tensor x = model.decoder->sample(model.decode(truth), generator);
    const std::unique_ptr<Posterior> q = model.encode(x);
    const torch::Tensor eps =
        torch::randn({n, draws, model.noise_size()}, generator, torch::dtype(torch::kFloat32))
            .to(device);
    const PosteriorDraw draw = q->expand(draws)->rsample_with_log_prob(eps);
    const torch::Tensor log_q_truth = q->log_prob(truth);
    const torch::Tensor r =
        sbc_ranks(family.calibration_values(truth, model.options()).to(torch::kCPU),
                  family.calibration_values(draw.z, model.options()).to(torch::kCPU), generator);
    ranks.push_back(r);
    density.push_back(density_pit(log_q_truth.to(torch::kCPU, torch::kFloat64),
                                  draw.log_q.to(torch::kCPU, torch::kFloat64), generator));
    // The progress line's value: the share of units whose truth lies in
    // the central 90 % of the draws (0.9 when calibrated).
    const torch::Tensor u = (r.to(torch::kFloat64) + 0.5) / static_cast<double>(draws + 1);
    inside += ((2.0 * u - 1.0).abs() <= 0.9).sum().item<int64_t>();
    counted += r.numel();
    if (progress && progress->due(pass + 1)) {
      progress->update(pass + 1, pass + 1,
                       static_cast<double>(inside) / static_cast<double>(counted),
                       pass * per_pass + n);
    }
  }
  if (progress) progress->finish();
  SimulationRanks out;
  out.ranks = torch::cat(ranks);
  out.density_pit = torch::cat(density);
  out.draws = draws;
  name_units(model, out.ranks.size(1), out);
  out.seconds = seconds_since(start);
  return out;
}

PredictiveCheck predictive_check(VAEImpl& model, const torch::Tensor& images, torch::Device device,
                                 const CalibrationOptions& options) {
  check_options(options, false);
  if ((images.dim() != 3 && images.dim() != 4) || images.size(0) < 1)
    throw Error("the predictive check needs images [N, H, W] or [N, C, H, W]");
  const auto start = std::chrono::steady_clock::now();
  c10::InferenceMode inference;
  EvalScope eval(model);
  auto generator = at::detail::createCPUGenerator(options.seed + 1);
  const int64_t draws = options.draws, count = images.size(0);
  const int64_t per_pass = std::max<int64_t>(1, options.rows / draws);
  const int64_t passes = (count + per_pass - 1) / per_pass;
  const LikelihoodFamily& likelihood = model.likelihood();
  const torch::Tensor log_sigma = model.decoder->log_sigma();
  PredictiveCheck out;
  out.binary = likelihood.binary_data() && ((images == 0) | (images == 255)).all().item<bool>();
  std::unique_ptr<Progress> progress = progress_of(options, "predictive check", passes);
  std::vector<torch::Tensor> pits, predicted, observed;
  int64_t inside = 0, counted = 0;
  for (int64_t pass = 0; pass < passes; ++pass) {
    const int64_t first = pass * per_pass, n = std::min(per_pass, count - first);
    const torch::Tensor x = to_model_input(images.narrow(0, first, n), device);  // [n, C, H, W]
    const std::unique_ptr<Posterior> q = model.encode(x);
    const torch::Tensor eps =
        torch::randn({n, draws, model.noise_size()}, generator, torch::dtype(torch::kFloat32))
            .to(device);
    const torch::Tensor z = q->expand(draws)->rsample(eps);  // [n, L, D]
    const torch::Tensor output = model.decode(z.reshape({n * draws, z.size(-1)}));
    std::vector<int64_t> repeated = x.sizes().vec();
    repeated[0] = n * draws;
    const torch::Tensor xs = x.unsqueeze(1).expand({n, draws, x.size(1), x.size(2), x.size(3)});
    // p(x_i | z, x_<i) for every pixel of the observed image, per code.
    const torch::Tensor conditioned =
        model.decoder->conditioned(xs.reshape(repeated), output).to(torch::kCPU);
    const torch::Tensor simulated = likelihood.sample(
        conditioned,
        LikelihoodParams(log_sigma.defined() ? log_sigma.to(torch::kCPU) : log_sigma,
                         model.options().trials()),
        generator);
    const int64_t pixels = x[0].numel();
    const torch::Tensor observed_pixels = x.reshape({n, pixels}).to(torch::kCPU, torch::kFloat64);
    const torch::Tensor r = sbc_ranks(
        observed_pixels, simulated.reshape({n, draws, pixels}).to(torch::kFloat64), generator);
    const torch::Tensor u = rank_pit(r, draws, generator);
    pits.push_back(u.flatten());
    if (out.binary) {
      predicted.push_back(
          likelihood.mean(conditioned).reshape({n, draws, pixels}).mean(1).flatten());
      observed.push_back(observed_pixels.flatten());
    }
    inside += ((2.0 * u - 1.0).abs() <= 0.9).sum().item<int64_t>();
    counted += u.numel();
    if (progress && progress->due(pass + 1)) {
      progress->update(pass + 1, pass + 1,
                       static_cast<double>(inside) / static_cast<double>(counted), first + n);
    }
  }
  if (progress) progress->finish();
  const torch::Tensor all = torch::cat(pits);
  out.coverage = central_coverage(all);
  if (out.binary) out.reliability = reliability(torch::cat(predicted), torch::cat(observed));
  out.images = count;
  out.pixels = all.numel();
  out.seconds = seconds_since(start);
  return out;
}

}  // namespace vae
