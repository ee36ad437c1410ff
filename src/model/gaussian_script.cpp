#include "gaussian_script.h"

namespace vae {

std::string gaussian_script_methods(const std::string& flow_methods) {
  const bool flow = !flow_methods.empty();
  // log N(z0; mu, diag exp(logvar)) as log_normal_diag computes it.
  std::string code = R"(
    def forward(self, x):
        stats = self.encode_stats(x)
        return (stats.narrow(1, 0, self.latent_dim), stats.narrow(1, self.latent_dim, self.latent_dim))

    def rsample_with_log_prob(self, x, eps):
        stats = self.encode_stats(x).unsqueeze(1)
        mu = stats.narrow(2, 0, self.latent_dim)
        logvar = stats.narrow(2, self.latent_dim, self.latent_dim)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * ((z - mu).pow(2) * torch.exp(-logvar) + logvar + 1.8378770664093453).sum(-1)
)";
  code += flow ? R"(        zk, log_det = self.flow(stats, z)
        return (zk, log_q - log_det)
)"
               : R"(        return (z, log_q)
)";
  code += R"(
    def sample(self, x, n: int):
        mu, logvar = self.forward(x)
        eps = torch.randn([mu.size(0), n, self.latent_dim], dtype=mu.dtype, device=mu.device)
        return self.rsample_with_log_prob(x, eps)[0]
)";
  if (flow) {
    code += R"(
    def log_prob(self, x, z):
        stats = self.encode_stats(x).unsqueeze(1)
        z0 = self.inverse(stats.double(), z.double()).to(z.dtype)
        zk, log_det = self.flow(stats, z0)
        mu = stats.narrow(2, 0, self.latent_dim)
        logvar = stats.narrow(2, self.latent_dim, self.latent_dim)
        log_q0 = -0.5 * ((z0 - mu).pow(2) * torch.exp(-logvar) + logvar + 1.8378770664093453).sum(-1)
        return log_q0 - log_det

    def summary(self, x, n: int) -> Dict[str, Tensor]:
        z = self.sample(x, n)
        return {"mean": z.mean(1), "std": z.std(1)}
)" + flow_methods;
  } else {
    code += R"(
    def log_prob(self, x, z):
        mu, logvar = self.forward(x)
        mu = mu.unsqueeze(1)
        logvar = logvar.unsqueeze(1)
        return -0.5 * ((z - mu).pow(2) * torch.exp(-logvar) + logvar + 1.8378770664093453).sum(-1)

    def summary(self, x, n: int) -> Dict[str, Tensor]:
        mu, logvar = self.forward(x)
        return {"mu": mu, "sigma": torch.exp(0.5 * logvar)}
)";
  }
  return code;
}

std::vector<std::pair<std::string, std::string>> gaussian_script_docs(bool flow) {
  std::vector<std::pair<std::string, std::string>> docs = {
      {"forward", flow ? "x [N, C, H, W] or [N, C*H*W] -> (mu [N, D], logvar [N, D]) of the base "
                         "Gaussian q_0(z_0|x)"
                       : "x [N, C, H, W] or [N, C*H*W] -> (mu [N, D], logvar [N, D])"},
      {"sample", flow ? "sample(x, n) -> [N, n, D] draws z_K (the flow applied to base draws)"
                      : "sample(x, n) -> [N, n, D] reparameterized draws"},
      {"rsample_with_log_prob",
       flow ? "rsample_with_log_prob(x, eps [N, n, D] standard normal) -> (z_K [N, n, D], log "
              "q(z_K|x) [N, n])"
            : "rsample_with_log_prob(x, eps [N, n, D] standard normal) -> (z [N, n, D], log "
              "q(z|x) [N, n])"},
      {"summary", flow ? "summary(x, n) -> {mean, std}: [N, D] each, estimated from n draws"
                       : "summary(x, n) -> {mu, sigma}: [N, D] each (n unused)"}};
  docs.push_back({"log_prob", flow ? "log_prob(x, z [N, n, D]) -> log q(z|x) [N, n], through "
                                     "the inverse flow (planar: a scalar root per step by "
                                     "bisection; iaf: one pass per dimension; float64)"
                                   : "log_prob(x, z [N, n, D]) -> log q(z|x) [N, n]"});
  return docs;
}

}  // namespace vae
