// The approximate posterior q(z|x): one interface, one file per family under
// src/model/, one table of them (posterior_table.cpp). The encoder emits
// `stats` [N, stats_size(options)] per image; a family reads them, with its
// own parameters where it has any (IAF's autoregressive networks), as a
// batch of distributions (like torch.distributions' objects).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vae/runtime/name_table.h"

namespace vae {

class Prior;
struct NetworkOptions;
struct WorkSplit;

// One reparameterized draw and log q(z|x) at it.
struct PosteriorDraw {
  torch::Tensor z;      // [N, latent] (or [N, S, latent])
  torch::Tensor log_q;  // [N] (or [N, S])
};

// q(z|x) for a batch of N images, or N x S after expand(S).
class Posterior {
 public:
  virtual ~Posterior() = default;
  // Reparameterized draws z = g(stats, eps), differentiable in the stats:
  // eps [N, noise] -> z [N, latent]; after expand(S), [N, S, noise] -> [N, S, latent].
  virtual torch::Tensor rsample(const torch::Tensor& eps) const = 0;
  // log q(z|x), summed over the latent dimensions: [N] (or [N, S]). Flows
  // invert their map for it (numerically, without gradient), so the
  // objectives use rsample_with_log_prob, which is exact and cheap.
  virtual torch::Tensor log_prob(const torch::Tensor& z) const = 0;
  // rsample(eps) and log q(z|x) at the draw, computed along the way by flows
  // (the base density minus the log-determinants, Rezende & Mohamed 2015,
  // eq. 7).
  virtual PosteriorDraw rsample_with_log_prob(const torch::Tensor& eps) const;
  // KL(q(z|x) || prior) per image and dimension [N, latent] in closed form;
  // an undefined tensor where there is none (the objective then uses the
  // Monte Carlo estimate log q(z|x) - log p(z)).
  virtual torch::Tensor kl_per_dim(const Prior& prior) const = 0;
  // The code pictures decode [N, latent]: E_q[z] (flows: the flow applied
  // to the base Gaussian's mean).
  virtual torch::Tensor mean() const = 0;
  // The standard normal noise one draw needs per image (eps's last size).
  virtual int64_t noise_size() const = 0;
  // The same distributions, S draws per image.
  virtual std::unique_ptr<Posterior> expand(int64_t samples) const = 0;
  // What the exported encoder's forward() returns, e.g. (mu, logvar).
  virtual std::vector<torch::Tensor> outputs() const = 0;
};

class PosteriorFamily {
 public:
  virtual ~PosteriorFamily() = default;
  virtual const char* name() const = 0;
  virtual std::string help() const = 0;

  // The encoder's output width and the noise one draw needs, per image.
  virtual int64_t stats_size(const NetworkOptions& options) const = 0;
  virtual int64_t noise_size(const NetworkOptions& options) const = 0;
  // The family's own parameters, shared by all images (IAF's autoregressive
  // networks), which the model registers as its submodule "posterior";
  // nullptr (the default) for a family whose every parameter the encoder
  // emits per image.
  virtual std::shared_ptr<torch::nn::Module> make_parameters(const NetworkOptions& options) const;
  // Reads stats [N, stats_size] (views into it, so gradients reach the
  // encoder) with the family's parameters (make_parameters' module).
  virtual std::unique_ptr<Posterior> read(
      const torch::Tensor& stats, const NetworkOptions& options,
      const std::shared_ptr<torch::nn::Module>& parameters = nullptr) const = 0;
  // The means whose spread across a data set counts active units
  // (Burda et al. 2015, sec. 5.2) [n, latent]: the Gaussian's mu; for a
  // flow, its base Gaussian's.
  virtual torch::Tensor unit_means(const torch::Tensor& stats,
                                   const NetworkOptions& options) const = 0;
  // True when kl_per_dim() is defined for `prior` (free bits need it).
  virtual bool closed_form_kl(const Prior& prior) const = 0;
  // The prior a configuration gets when it names none, and whether `prior`
  // suits the family (a categorical posterior needs a discrete prior).
  virtual const char* default_prior() const { return "standard-normal"; }
  virtual bool accepts(const Prior& prior) const;
  // The latent width the family's own settings fix (categorical: variables
  // x categories), or 0 where --latent-dim chooses it.
  virtual int64_t fixed_latent_dim(const NetworkOptions& /*options*/) const { return 0; }
  // True for a family that draws through a relaxation whose temperature
  // the trainer anneals (VAEImpl::set_temperature; categorical).
  virtual bool relaxed() const { return false; }

  // The units the collapse monitor counts. By default each latent
  // coordinate, active when the spread of unit_means across a data set
  // exceeds the threshold (Burda et al. 2015); a family whose units are not
  // coordinates (a categorical variable spans K of them) counts a unit
  // active when its KL does.
  virtual int64_t units(const NetworkOptions& options) const;
  virtual bool coordinate_units() const { return true; }
  // I(x; unit) of each unit over a data set from its stats [n, stats_size]
  // ([units]); undefined where the family has no exact per-unit value.
  virtual torch::Tensor unit_mutual_information(const torch::Tensor& stats,
                                                const NetworkOptions& options) const;
  // For a family without coordinate units, the codes `vae traverse`
  // decodes around `code` [latent] (one image's code): one row per unit
  // of `order`, the unit set to each of its values in turn (categorical: its
  // K categories) [order.size() * values, latent]. Coordinate families are
  // swept by the views (traversal_codes) and throw here.
  virtual torch::Tensor unit_values(const torch::Tensor& code, const std::vector<int64_t>& order,
                                    const NetworkOptions& options) const;

  // What simulation-based calibration ranks per unit, of codes
  // [..., latent] -> [..., units] (float64): by default the coordinates; a
  // categorical variable's category index, whose rank among the draws, ties
  // broken at random, is the randomized PIT of the category.
  virtual torch::Tensor calibration_values(const torch::Tensor& z,
                                           const NetworkOptions& options) const;

  // I(x; z) of a data set from its stats [n, stats_size] (diagnostics.h);
  // NaN where the family has no estimator.
  virtual double mutual_information(const torch::Tensor& stats, const WorkSplit& split) const;

  // `vae encode`'s columns for q(z|x) of N images, each [N, width] (float32,
  // CPU), the first the posterior mean (what a reconstruction decodes):
  // {mu, sigma}; flows {mean, std} of `samples` draws; categorical
  // {p, category}.
  virtual std::vector<std::pair<std::string, torch::Tensor>> columns(const Posterior& q,
                                                                     const NetworkOptions& options,
                                                                     int64_t samples) const = 0;
  // The exported encoder's posterior methods (TorchScript source, 4 spaces
  // indented) and what model.json says of each, written against
  // `self.encode_stats(x)` [N, stats_size] and `self.latent_dim`. Every
  // family defines forward(x) (its outputs, named by output_names),
  // sample(x, n) [N, n, D], rsample_with_log_prob(x, eps [N, n, noise]) ->
  // (z [N, n, D], log q [N, n]) and summary(x, n) -> Dict[str, Tensor] (the
  // columns above); `parameters` are registered on the module as
  // self.NAME.
  struct Script {
    std::string methods;
    std::vector<std::pair<std::string, torch::Tensor>> parameters;
    std::vector<std::pair<std::string, std::string>> docs;
  };
  virtual Script script(const NetworkOptions& options,
                        const std::shared_ptr<torch::nn::Module>& parameters) const = 0;
  virtual std::vector<std::string> output_names() const = 0;
};

// The registered families, in the order --help lists them.
const PartTable<PosteriorFamily>& posteriors();
// A configuration refers to a registered family by pointer.
using PosteriorRef = const PosteriorFamily*;
PosteriorRef parse_posterior(const std::string& name);
std::string to_string(PosteriorRef family);

}  // namespace vae
