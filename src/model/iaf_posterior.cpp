// q(z|x) by an inverse autoregressive flow (Kingma et al. 2016, "Improved
// Variational Inference with Inverse Autoregressive Flow", sec. 4 and
// Algorithm 1): z_0 = mu + sigma * eps, then for each of K steps
//   [m, s] = MADE_k(z, h),  sigma = sigmoid(s),
//   z = sigma * z + (1 - sigma) * m,          (the numerically stable update, eq. 14)
//   log q -= sum_d log sigma_d,
// where MADE_k (Germain et al. 2015) is a masked network whose outputs m_d,
// s_d depend on z_1..z_{d-1} only (the Jacobian is triangular with diagonal
// sigma), and h is a context vector the encoder emits beside mu and logvar.
// The steps alternate between the latent order and its reverse (Kingma et
// al. reverse it between steps); z_K comes back in the latent order.
//
// stats [N, 2D + H] = [mu (D), logvar (D), h (H)]; the MADE networks are the
// family's own parameters (the model's submodule "posterior"), H = --iaf-hidden.
#include <torch/torch.h>

#include "gaussian_flow.h"
#include "vae/model/iaf_flow_pass.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

namespace nn = torch::nn;

// sigmoid(kInitialGate) ~ 0.88: each step starts close to the identity
// (Kingma et al. 2016, sec. 4: the forget-gate bias of an LSTM).
constexpr double kInitialGate = 2.0;

// One step's network: D inputs z, the context h, one hidden layer of H
// units, outputs [m (D), s (D)]. Masks (Germain et al. 2015, sec. 4): input
// d has degree d + 1, hidden unit k degree k mod (D - 1) + 1, output d
// degree d + 1; a weight is kept when the hidden unit's degree is >= the
// input's, and an output sees hidden units of degree < its own.
class IafStepImpl : public nn::Module {
 public:
  IafStepImpl(int64_t latent, int64_t hidden) : d_(latent) {
    input_ = register_module("input", nn::Linear(latent, hidden));
    context_ =
        register_module("context", nn::Linear(nn::LinearOptions(hidden, hidden).bias(false)));
    output_ = register_module("output", nn::Linear(hidden, 2 * latent));
    const torch::Tensor unit_degree =
        latent > 1 ? torch::arange(hidden, torch::kLong).remainder(latent - 1) + 1
                   : torch::zeros({hidden}, torch::kLong);                           // [H]
    const torch::Tensor latent_degree = torch::arange(1, latent + 1, torch::kLong);  // [D]
    input_mask_ = register_buffer(
        "input_mask", unit_degree.unsqueeze(1).ge(latent_degree.unsqueeze(0)).to(torch::kFloat32));
    const torch::Tensor out_mask =
        latent_degree.unsqueeze(1).gt(unit_degree.unsqueeze(0));  // [D, H]
    output_mask_ =
        register_buffer("output_mask", torch::cat({out_mask, out_mask}, 0).to(torch::kFloat32));
    torch::NoGradGuard no_grad;
    output_->bias.narrow(0, latent, latent).fill_(kInitialGate);
  }

  // z [..., D], h [..., H] -> m, s [..., D].
  // The masked weights and biases, for the exported encoder.
  std::vector<std::pair<std::string, torch::Tensor>> exported(const std::string& prefix) const {
    return {{prefix + "_in_weight", in_weight()},
            {prefix + "_in_bias", input_->bias},
            {prefix + "_context_weight", context_->weight},
            {prefix + "_out_weight", out_weight()},
            {prefix + "_out_bias", output_->bias}};
  }

  // The weights with their masks applied (0 and 1 change no value).
  torch::Tensor in_weight() const { return input_->weight * input_mask_; }
  torch::Tensor out_weight() const { return output_->weight * output_mask_; }

  // This step for iaf_flow_pass, with the context rows h [images, H]. A
  // reversed step reads z.flip(-1) and flips its output back: the same as
  // reading z with its input columns and its m and s rows flipped.
  IafStepTensors pass_tensors(const torch::Tensor& h, bool reversed) const {
    torch::Tensor in = in_weight(), out = out_weight(), out_bias = output_->bias;
    if (reversed) {
      const auto halves_flipped = [this](const torch::Tensor& t) {
        return torch::cat({t.narrow(0, 0, d_).flip(0), t.narrow(0, d_, d_).flip(0)});
      };
      in = in.flip(1);
      out = halves_flipped(out);
      out_bias = halves_flipped(out_bias);
    }
    return {in, input_->bias, torch::nn::functional::linear(h, context_->weight), out, out_bias};
  }

  // forward() in float64 (inversion).
  std::pair<torch::Tensor, torch::Tensor> forward_float64(const torch::Tensor& z,
                                                          const torch::Tensor& h) const {
    namespace F = torch::nn::functional;
    const auto f64 = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
    const torch::Tensor hidden = torch::relu(F::linear(z, f64(in_weight()), f64(input_->bias)) +
                                             F::linear(h, f64(context_->weight)));
    const torch::Tensor out = F::linear(hidden, f64(out_weight()), f64(output_->bias));
    return {out.narrow(-1, 0, d_), out.narrow(-1, d_, d_)};
  }

  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& z, const torch::Tensor& h) {
    // Codes drawn k at a time share their image's context: h [N, k, H]
    // expanded from [N, 1, H] (stride 0) takes one product per image, not
    // per code, and broadcasts.
    const torch::Tensor context = h.dim() == 3 && h.size(1) > 1 && h.stride(1) == 0
                                      ? context_(h.narrow(1, 0, 1))
                                      : context_(h);
    const torch::Tensor hidden =
        torch::relu(torch::nn::functional::linear(z, in_weight(), input_->bias) + context);
    const torch::Tensor out = torch::nn::functional::linear(hidden, out_weight(), output_->bias);
    return {out.narrow(-1, 0, d_), out.narrow(-1, d_, d_)};
  }

 private:
  int64_t d_;
  nn::Linear input_{nullptr}, context_{nullptr}, output_{nullptr};
  torch::Tensor input_mask_, output_mask_;
};
TORCH_MODULE(IafStep);

class IafNetworksImpl : public nn::Module {
 public:
  IafNetworksImpl(int64_t latent, int64_t hidden, int64_t steps) {
    steps_ = register_module("steps", nn::ModuleList());
    for (int64_t k = 0; k < steps; ++k)
      steps_->push_back(IafStep(latent, hidden));
  }
  // z [..., D] through the K steps, h [..., H]; adds sum_k sum_d log sigma
  // [...] to *log_det when given.
  torch::Tensor flow(torch::Tensor z, const torch::Tensor& h, torch::Tensor* log_det) const {
    if (iaf_flow_pass_covers(z)) {
      if (const torch::Tensor rows = context_rows(z, h); rows.defined()) {
        std::vector<IafStepTensors> steps;
        for (size_t k = 0; k < steps_->size(); ++k)
          steps.push_back(steps_->ptr<IafStepImpl>(k)->pass_tensors(rows, k % 2 == 1));
        torch::Tensor sums;
        z = iaf_flow_pass(z, steps, &sums);
        if (log_det != nullptr) accumulate(log_det, sums);
        return z;
      }
    }
    for (size_t k = 0; k < steps_->size(); ++k) {
      const bool reversed = k % 2 == 1;
      const torch::Tensor input = reversed ? z.flip(-1) : z;
      auto [m, s] = steps_->ptr<IafStepImpl>(k)->forward(input, h);
      const torch::Tensor gate = torch::sigmoid(s);
      torch::Tensor next = gate * input + (1.0 - gate) * m;
      if (log_det != nullptr) accumulate(log_det, torch::log_sigmoid(s).sum(-1));
      z = reversed ? next.flip(-1) : next;
    }
    return z;
  }

  // The context of each image, one row per image, for codes z [..., D]
  // read with h [..., H]: h [N, c, H] whose c rows are one (expanded, as the
  // evaluation draws them) gives [N, H]; undefined when h's rows do not
  // match z's.
  static torch::Tensor context_rows(const torch::Tensor& z, const torch::Tensor& h) {
    if (h.dim() != z.dim() || h.sizes().slice(0, h.dim() - 1) != z.sizes().slice(0, z.dim() - 1))
      return {};
    if (h.dim() == 3 && (h.size(1) == 1 || h.stride(1) == 0)) return h.select(1, 0);
    return h.reshape({-1, h.size(-1)});
  }

  // The input of each step from its output, from the last step: input d
  // = (output_d - (1 - sigma_d) m_d) / sigma_d, where m_d and sigma_d read
  // inputs < d only, so one pass per dimension fixes the next (float64).
  torch::Tensor inverse(torch::Tensor z, const torch::Tensor& h) const {
    const torch::Tensor context = h.to(torch::kFloat64);
    for (int64_t k = static_cast<int64_t>(steps_->size()) - 1; k >= 0; --k) {
      const bool reversed = k % 2 == 1;
      const torch::Tensor next = reversed ? z.flip(-1) : z;
      const auto step = steps_->ptr<IafStepImpl>(k);
      torch::Tensor input = torch::zeros_like(next);
      for (int64_t d = 0; d < next.size(-1); ++d) {
        auto [m, s] = step->forward_float64(input, context);
        const torch::Tensor gate = torch::sigmoid(s.select(-1, d));
        input.select(-1, d).copy_((next.select(-1, d) - (1.0 - gate) * m.select(-1, d)) / gate);
      }
      z = reversed ? input.flip(-1) : input;
    }
    return z;
  }

  // IafNetworks::flow in TorchScript, one block per step, and the tensors it
  // reads (self.iaf{k}_*).
  std::string script(int64_t latent,
                     std::vector<std::pair<std::string, torch::Tensor>>* tensors) const {
    const std::string d = std::to_string(latent);
    std::string code = R"(
    def flow(self, stats, z):
        h = stats.narrow(-1, 2 * )" +
                       d + ", stats.size(-1) - 2 * " + d + R"()
        log_det = torch.zeros_like(z.select(-1, 0))
)";
    for (size_t k = 0; k < steps_->size(); ++k) {
      const std::string p = "self.iaf" + std::to_string(k);
      const bool reversed = k % 2 == 1;
      for (auto& [name, tensor] : steps_->ptr<IafStepImpl>(k)->exported("iaf" + std::to_string(k)))
        tensors->push_back({name, tensor.detach().to(torch::kCPU).clone()});
      code += std::string("        inp = ") + (reversed ? "z.flip([-1])" : "z") + R"(
        hidden = torch.relu(torch.linear(inp, )" +
              p + "_in_weight, " + p + "_in_bias) + torch.linear(h, " + p + R"(_context_weight))
        out = torch.linear(hidden, )" +
              p + "_out_weight, " + p + R"(_out_bias)
        s = out.narrow(-1, )" +
              d + ", " + d + R"()
        gate = torch.sigmoid(s)
        nxt = gate * inp + (1.0 - gate) * out.narrow(-1, 0, )" +
              d + R"()
        log_det = log_det + torch.log_sigmoid(s).sum(-1)
        z = )" +
              (reversed ? "nxt.flip([-1])" : "nxt") + "\n";
    }
    code += "        return (z, log_det)\n";
    // The inverse (float64), as inverse() above.
    code += R"(
    def inverse(self, stats, z):
        h = stats.narrow(-1, 2 * )" +
            d + ", stats.size(-1) - 2 * " + d + R"()
)";
    for (int64_t k = static_cast<int64_t>(steps_->size()) - 1; k >= 0; --k) {
      const std::string p = "self.iaf" + std::to_string(k);
      const bool reversed = k % 2 == 1;
      code += std::string("        nxt = ") + (reversed ? "z.flip([-1])" : "z") + R"(
        inp = torch.zeros_like(nxt)
        for d in range()" +
              d + R"():
            hidden = torch.relu(torch.linear(inp, )" +
              p + "_in_weight.double(), " + p + "_in_bias.double()) + torch.linear(h, " + p +
              R"(_context_weight.double()))
            out = torch.linear(hidden, )" +
              p + "_out_weight.double(), " + p + R"(_out_bias.double())
            gate = torch.sigmoid(out.select(-1, )" +
              d + R"( + d))
            inp.select(-1, d).copy_((nxt.select(-1, d) - (1.0 - gate) * out.select(-1, d)) / gate)
        z = )" +
              (reversed ? "inp.flip([-1])" : "inp") + "\n";
    }
    return code + "        return z\n";
  }

 private:
  nn::ModuleList steps_{nullptr};
};
TORCH_MODULE(IafNetworks);

class Iaf final : public GaussianFlow {
 public:
  Iaf(torch::Tensor stats, int64_t latent, std::shared_ptr<IafNetworksImpl> networks)
      : GaussianFlow(std::move(stats), latent), networks_(std::move(networks)) {}

  torch::Tensor flow(torch::Tensor z, torch::Tensor* log_det) const override {
    return networks_->flow(std::move(z), rest(), log_det);  // rest(): the context h
  }
  torch::Tensor inverse(torch::Tensor z) const override {
    return networks_->inverse(std::move(z), rest());
  }
  std::unique_ptr<Posterior> with_stats(torch::Tensor stats) const override {
    return std::make_unique<Iaf>(std::move(stats), latent(), networks_);
  }
  std::string flag() const override { return "--posterior iaf"; }

 private:
  std::shared_ptr<IafNetworksImpl> networks_;
};

class IafFamily final : public GaussianFlowFamily {
 public:
  const char* name() const override { return "iaf"; }
  std::string help() const override {
    return "--flow-steps inverse autoregressive steps of --iaf-hidden units on the diagonal "
           "Gaussian (Kingma et al. 2016)";
  }
  int64_t stats_size(const NetworkOptions& o) const override {
    return 2 * o.latent_dim() + o.iaf_hidden();
  }
  std::shared_ptr<nn::Module> make_parameters(const NetworkOptions& o) const override {
    return IafNetworks(o.latent_dim(), o.iaf_hidden(), o.flow_steps()).ptr();
  }
  std::unique_ptr<Posterior> read(const torch::Tensor& stats, const NetworkOptions& o,
                                  const std::shared_ptr<nn::Module>& parameters) const override {
    auto networks = std::dynamic_pointer_cast<IafNetworksImpl>(parameters);
    if (!networks) throw Error("internal: --posterior iaf read without its networks");
    return std::make_unique<Iaf>(stats, o.latent_dim(), std::move(networks));
  }

 protected:
  std::string flow_script(
      const NetworkOptions& o, const std::shared_ptr<nn::Module>& parameters,
      std::vector<std::pair<std::string, torch::Tensor>>* tensors) const override {
    auto networks = std::dynamic_pointer_cast<IafNetworksImpl>(parameters);
    if (!networks) throw Error("internal: --posterior iaf exported without its networks");
    return networks->script(o.latent_dim(), tensors);
  }
};

}  // namespace

const PosteriorFamily& iaf_posterior() {
  static const IafFamily family;
  return family;
}

}  // namespace vae
