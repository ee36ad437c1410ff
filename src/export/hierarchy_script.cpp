#include "hierarchy_script.h"

#include <torch/torch.h>

#include <sstream>

#include "script_layers.h"

namespace vae {
namespace {

using torch::nn::Sequential;
using torch::nn::SequentialImpl;

// def NAME(self, h): the net's layers; its weights registered as NAME_*.
std::string net_method(torch::jit::Module& module, const torch::nn::ModuleList& nets, size_t i,
                       const std::string& kind) {
  const std::string name = kind + std::to_string(i);
  const Sequential net(nets->ptr<SequentialImpl>(i));
  return "\n    def " + name + "(self, h):\n" + script_layers(module, net, name + "_") +
         "        return h\n";
}

// The helpers both modules' methods use, as latent_hierarchy.cpp computes
// them (log N summed over the last dimension; the ladder's merge by
// precision in log variances).
const char* kHelpers = R"(
    def log_normal(self, z, mu, lv):
        return -0.5 * ((z - mu).pow(2) * torch.exp(-lv) + lv + 1.8378770664093453).sum(-1)

    def gaussian(self, s, d: int) -> Tuple[Tensor, Tensor]:
        return (s.narrow(-1, 0, d), s.narrow(-1, d, d))

    def merge(self, mu_up, lv_up, mu_p, lv_p) -> Tuple[Tensor, Tensor]:
        lv = -torch.logaddexp(-lv_up, -lv_p)
        return (mu_up * torch.exp(lv - lv_up) + mu_p * torch.exp(lv - lv_p), lv)
)";

enum class Pass { kDraw, kGiven, kMean };

// The statements of one pass through the layers from `stats`: drawing each
// z_l from eps (kDraw), reading it from the given code (kGiven), or taking
// its mean (kMean); log_q accumulates for the first two, mus/lvs collect
// each layer's q for the last.
std::string pass(const LatentHierarchyImpl& h, Pass mode) {
  const std::vector<int64_t>& d = h.dims();
  const auto L = static_cast<int64_t>(d.size());
  std::ostringstream c;
  const auto z = [](int64_t l) { return "z" + std::to_string(l); };
  const auto take = [&](int64_t l, const std::string& mu, const std::string& lv) {
    if (mode == Pass::kDraw) {
      c << "        " << z(l) << " = " << mu << " + torch.exp(0.5 * " << lv << ") * e[" << l
        << "]\n";
    } else if (mode == Pass::kGiven) {
      c << "        " << z(l) << " = e[" << l << "]\n";
    } else {
      c << "        " << z(l) << " = " << mu << "\n";
    }
    if (mode == Pass::kMean) {
      c << "        mus[" << l << "] = " << mu << "\n        lvs[" << l << "] = " << lv << "\n";
    } else {
      c << "        log_q = log_q + self.log_normal(" << z(l) << ", " << mu << ", " << lv << ")\n";
    }
  };
  if (mode == Pass::kMean) {
    c << "        mus = [stats] * " << L << "\n        lvs = [stats] * " << L << "\n";
  } else {
    c << "        log_q = torch.zeros(e[0].shape[:-1], dtype=e[0].dtype, device=e[0].device)\n";
  }
  if (h.inference() == Inference::kBottomUp) {
    c << "        mu, lv = self.gaussian(stats, " << d[0] << ")\n";
    take(0, "mu", "lv");
    for (int64_t l = 1; l < L; ++l) {
      c << "        mu, lv = self.gaussian(self.up" << l - 1 << "(" << z(l - 1) << "), " << d[l]
        << ")\n";
      take(l, "mu", "lv");
    }
  } else {
    c << "        h0 = stats\n";
    for (int64_t l = 1; l < L; ++l)
      c << "        h" << l << " = self.up" << l - 1 << "(h" << l - 1 << ")\n";
    c << "        mu, lv = self.gaussian(h" << L - 1 << ", " << d[L - 1] << ")\n";
    take(L - 1, "mu", "lv");
    for (int64_t l = L - 2; l >= 0; --l) {
      c << "        mu_p, lv_p = self.gaussian(self.down" << l << "(" << z(l + 1) << "), " << d[l]
        << ")\n        mu_u, lv_u = self.gaussian(h" << l << ", " << d[l]
        << ")\n        mu, lv = self.merge(mu_u, lv_u, mu_p, lv_p)\n";
      take(l, "mu", "lv");
    }
  }
  return c.str();
}

std::string code_list(int64_t layers) {
  std::string out = "[";
  for (int64_t l = 0; l < layers; ++l)
    out += (l ? ", z" : "z") + std::to_string(l);
  return out + "]";
}

}  // namespace

HierarchyScript hierarchy_encoder_script(torch::jit::Module& module,
                                         const LatentHierarchyImpl& hierarchy) {
  const auto L = static_cast<int64_t>(hierarchy.dims().size());
  const std::string sizes = int_list(hierarchy.dims());
  std::string code = kHelpers;
  for (size_t i = 0; i + 1 < hierarchy.dims().size(); ++i) {
    code += net_method(module, hierarchy.up(), i, "up");
    if (hierarchy.inference() == Inference::kLadder)
      code += net_method(module, hierarchy.down(), i, "down");
  }
  code += R"(
    def forward(self, x):
        stats = self.encode_stats(x)
)" + pass(hierarchy, Pass::kMean) +
          R"(        return (torch.cat(mus, -1), torch.cat(lvs, -1))

    def rsample_with_log_prob(self, x, eps):
        stats = self.encode_stats(x).unsqueeze(1)
        e = eps.split_with_sizes()" +
          sizes + R"(, -1)
)" + pass(hierarchy, Pass::kDraw) +
          "        return (torch.cat(" + code_list(L) + R"(, -1), log_q)

    def log_prob(self, x, z):
        stats = self.encode_stats(x).unsqueeze(1)
        e = z.split_with_sizes()" +
          sizes + R"(, -1)
)" + pass(hierarchy, Pass::kGiven) +
          R"(        return log_q

    def sample(self, x, n: int):
        mu, logvar = self.forward(x)
        eps = torch.randn([mu.size(0), n, self.latent_dim], dtype=mu.dtype, device=mu.device)
        return self.rsample_with_log_prob(x, eps)[0]

    def summary(self, x, n: int) -> Dict[str, Tensor]:
        mu, logvar = self.forward(x)
        return {"mu": mu, "sigma": torch.exp(0.5 * logvar)}
)";
  const std::string layers = "layers " + sizes + " bottom first";
  return {code,
          {{"forward", "x [N, C, H, W] or [N, C*H*W] -> (mu [N, D], logvar [N, D]): each " +
                           layers + "'s q along the means (z_l at its mean on the way)"},
           {"sample", "sample(x, n) -> [N, n, D] draws of the whole code [z_1, .., z_L]"},
           {"rsample_with_log_prob",
            "rsample_with_log_prob(x, eps [N, n, D] standard normal) -> (z [N, n, D], log "
            "q(z|x) [N, n])"},
           {"log_prob", "log_prob(x, z [N, n, D]) -> log q(z|x) [N, n]"},
           {"summary", "summary(x, n) -> {mu, sigma}: [N, D] each, forward's (n unused)"}}};
}

std::string hierarchy_decoder_script(torch::jit::Module& module,
                                     const LatentHierarchyImpl& hierarchy) {
  const std::vector<int64_t>& d = hierarchy.dims();
  const auto L = static_cast<int64_t>(d.size());
  std::ostringstream c;
  c << kHelpers;
  for (size_t i = 0; i + 1 < d.size(); ++i)
    c << net_method(module, hierarchy.down(), i, "down");
  c << "\n    def descend(self, top):\n        z" << L - 1 << " = top\n";
  for (int64_t l = L - 2; l >= 0; --l) {
    c << "        mu, lv = self.gaussian(self.down" << l << "(z" << l + 1 << "), " << d[l]
      << ")\n        z" << l << " = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)\n";
  }
  c << "        return torch.cat(" << code_list(L) << ", 1)\n";
  // log p(z_1..z_{L-1} | z_L), as LatentHierarchyImpl::log_conditional_prior.
  c << "\n    def log_conditional_prior(self, z):\n";
  int64_t at = 0;
  for (int64_t l = 0; l < L; ++l) {
    c << "        z" << l << " = z.narrow(-1, " << at << ", " << d[l] << ")\n";
    at += d[l];
  }
  for (int64_t l = 0; l + 1 < L; ++l) {
    c << "        mu, lv = self.gaussian(self.down" << l << "(z" << l + 1 << "), " << d[l]
      << ")\n        " << (l == 0 ? "lp = " : "lp = lp + ") << "self.log_normal(z" << l
      << ", mu, lv)\n";
  }
  c << "        return lp\n";
  return c.str();
}

}  // namespace vae
