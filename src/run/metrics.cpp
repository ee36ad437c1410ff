#include "vae/run/metrics.h"

#include <algorithm>

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace vae {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// JSON has no NaN: a quantity not computed is stored as null.
nlohmann::json maybe(double v) {
  return v == v ? nlohmann::json(v) : nlohmann::json(nullptr);
}
double maybe_from(const nlohmann::json& j, const char* key) {
  return j.contains(key) && !j.at(key).is_null() ? j.at(key).get<double>() : std::nan("");
}

}  // namespace

nlohmann::json to_json(const EpochMetrics& m) {
  nlohmann::json j = {{"epoch", m.epoch},
                      {"step", m.step},
                      {"beta", m.beta},
                      {"train_loss", m.train_loss},
                      {"train_neg_elbo", m.train_neg_elbo},
                      {"train_recon", m.train_recon},
                      {"train_kl", m.train_kl},
                      {"test_neg_elbo", maybe(m.test_neg_elbo)},
                      {"test_recon", maybe(m.test_recon)},
                      {"test_kl", maybe(m.test_kl)},
                      {"active_units", m.active_units},
                      {"mutual_info", maybe(m.mutual_info)},
                      {"seconds", m.seconds},
                      {"eval_seconds", m.eval_seconds},
                      {"images_per_s", m.images_per_s},
                      {"world_size", m.world_size},
                      {"allreduce_ms", m.allreduce_ms},
                      {"kl_per_dim", m.kl_per_dim},
                      {"mean_variance", m.mean_variance}};
  if (m.temperature == m.temperature) j["temperature"] = m.temperature;
  if (m.lr == m.lr) j["lr"] = m.lr;
  if (m.valid_neg_elbo == m.valid_neg_elbo) j["valid_neg_elbo"] = m.valid_neg_elbo;
  if (m.valid_trained_neg_elbo == m.valid_trained_neg_elbo)
    j["valid_trained_neg_elbo"] = m.valid_trained_neg_elbo;
  if (m.valid_neg_iwae == m.valid_neg_iwae) {
    j["valid_neg_iwae"] = m.valid_neg_iwae;
    j["valid_iw_samples"] = m.valid_iw_samples;
  }
  if (!m.mi_per_dim.empty()) j["mi_per_dim"] = m.mi_per_dim;
  if (!m.tested) j["tested"] = false;
  if (m.batch_size > 0) {
    j["batch_size"] = m.batch_size;
    j["norm_noise"] = maybe(m.norm_noise);
    j["norm_signal"] = maybe(m.norm_signal);
  }
  return j;
}

EpochMetrics epoch_metrics_from_json(const nlohmann::json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int64_t>();
  m.step = j.at("step").get<int64_t>();
  m.beta = j.at("beta").get<double>();
  m.train_loss = j.at("train_loss").get<double>();
  m.train_neg_elbo = j.at("train_neg_elbo").get<double>();
  m.train_recon = j.at("train_recon").get<double>();
  m.train_kl = j.at("train_kl").get<double>();
  m.tested = j.value("tested", true);
  m.test_neg_elbo = maybe_from(j, "test_neg_elbo");
  m.test_recon = maybe_from(j, "test_recon");
  m.test_kl = maybe_from(j, "test_kl");
  m.active_units = j.at("active_units").get<int64_t>();
  m.mutual_info = maybe_from(j, "mutual_info");
  m.temperature = maybe_from(j, "temperature");
  m.lr = maybe_from(j, "lr");
  m.valid_neg_elbo = maybe_from(j, "valid_neg_elbo");
  m.valid_trained_neg_elbo = maybe_from(j, "valid_trained_neg_elbo");
  m.valid_neg_iwae = maybe_from(j, "valid_neg_iwae");
  m.valid_iw_samples = j.value("valid_iw_samples", int64_t{0});
  m.seconds = j.at("seconds").get<double>();
  m.eval_seconds = j.at("eval_seconds").get<double>();
  m.images_per_s = j.at("images_per_s").get<double>();
  m.world_size = j.value("world_size", int64_t{1});
  m.allreduce_ms = j.value("allreduce_ms", 0.0);
  m.batch_size = j.value("batch_size", int64_t{0});
  m.norm_noise = maybe_from(j, "norm_noise");
  m.norm_signal = maybe_from(j, "norm_signal");
  m.kl_per_dim = j.at("kl_per_dim").get<std::vector<double>>();
  m.mean_variance = j.at("mean_variance").get<std::vector<double>>();
  if (j.contains("mi_per_dim")) m.mi_per_dim = j.at("mi_per_dim").get<std::vector<double>>();
  return m;
}

std::string metrics_csv(const std::vector<EpochMetrics>& history) {
  bool tau = false, lr = false, valid = false, trained = false, iwae = false, grows = false;
  for (const EpochMetrics& m : history) {
    grows = grows || m.batch_size > 0;
    tau = tau || m.temperature == m.temperature;
    lr = lr || m.lr == m.lr;
    valid = valid || m.valid_neg_elbo == m.valid_neg_elbo;
    trained = trained || m.valid_trained_neg_elbo == m.valid_trained_neg_elbo;
    iwae = iwae || m.valid_neg_iwae == m.valid_neg_iwae;
  }
  std::ostringstream out;
  out << "epoch,step,beta,train_loss,train_neg_elbo,train_recon,train_kl,test_neg_elbo,"
         "test_recon,test_kl,active_units,mutual_info,seconds,eval_seconds,images_per_s,world_size,"
         "allreduce_ms"
      << (tau ? ",tau" : "") << (lr ? ",lr" : "") << (valid ? ",valid_neg_elbo" : "")
      << (trained ? ",valid_trained_neg_elbo" : "") << (iwae ? ",valid_neg_iwae" : "")
      << (grows ? ",batch_size,norm_noise,norm_signal\n" : "\n");
  for (const EpochMetrics& m : history) {
    out << m.epoch << ',' << m.step << ',' << number(m.beta) << ',' << number(m.train_loss) << ','
        << number(m.train_neg_elbo) << ',' << number(m.train_recon) << ',' << number(m.train_kl)
        << ',';
    if (m.tested) {
      out << number(m.test_neg_elbo) << ',' << number(m.test_recon) << ',' << number(m.test_kl)
          << ',' << m.active_units << ',' << number(m.mutual_info);
    } else {
      out << ",,,,";  // --eval-every: not scored this epoch
    }
    out << ',' << number(m.seconds) << ',' << number(m.eval_seconds) << ','
        << number(m.images_per_s) << ',' << m.world_size << ',' << number(m.allreduce_ms);
    if (tau) out << ',' << number(m.temperature);
    if (lr) out << ',' << number(m.lr);
    if (valid) out << ',' << number(m.valid_neg_elbo);
    if (trained) out << ',' << number(m.valid_trained_neg_elbo);
    if (iwae) out << ',' << number(m.valid_neg_iwae);
    if (grows) {
      out << ',' << m.batch_size << ',' << number(m.norm_noise) << ',' << number(m.norm_signal);
    }
    out << '\n';
  }
  return out.str();
}

bool unit_active(const std::vector<double>& kl_per_dim, const std::vector<double>& mean_variance,
                 size_t d, double threshold) {
  if (mean_variance.empty()) return d < kl_per_dim.size() && kl_per_dim[d] > threshold;
  return d < mean_variance.size() && mean_variance[d] > threshold;
}

std::string kl_per_dim_csv(const std::vector<EpochMetrics>& history, double active_threshold,
                           const std::vector<int64_t>& layer_dims) {
  bool mi = false;
  for (const EpochMetrics& m : history)
    mi = mi || !m.mi_per_dim.empty();
  // The layer (1-based) of each coordinate, for a hierarchy.
  std::vector<int64_t> layer;
  if (layer_dims.size() > 1) {
    for (size_t l = 0; l < layer_dims.size(); ++l)
      layer.insert(layer.end(), layer_dims[l], static_cast<int64_t>(l) + 1);
  }
  std::ostringstream out;
  out << "epoch,dim," << (layer.empty() ? "" : "layer,") << "kl,mean_variance,active"
      << (mi ? ",mutual_info\n" : "\n");
  for (const EpochMetrics& m : history) {
    // One row per unit: a posterior without a KL per unit (flows, learned
    // priors: one Monte Carlo KL for the code) still has each unit's spread
    // of means, and leaves `kl` empty.
    const size_t units = std::max(m.kl_per_dim.size(), m.mean_variance.size());
    const bool per_unit_kl = m.kl_per_dim.size() == units;
    for (size_t d = 0; d < units; ++d) {
      const double variance = d < m.mean_variance.size() ? m.mean_variance[d] : 0.0;
      out << m.epoch << ',' << d << ',';
      if (!layer.empty())
        out << (d < layer.size() ? std::to_string(layer[d]) : std::string()) << ',';
      // Units without a spread of means (categorical variables): empty.
      out << (per_unit_kl ? number(m.kl_per_dim[d]) : std::string()) << ','
          << (m.mean_variance.empty() ? std::string() : number(variance)) << ','
          << (unit_active(m.kl_per_dim, m.mean_variance, d, active_threshold) ? 1 : 0);
      if (mi) out << ',' << (d < m.mi_per_dim.size() ? number(m.mi_per_dim[d]) : std::string());
      out << '\n';
    }
  }
  return out.str();
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

std::vector<LayerActivity> layer_activity(const EpochMetrics& m,
                                          const std::vector<int64_t>& layer_dims,
                                          double active_threshold) {
  std::vector<LayerActivity> out;
  size_t d = 0;
  for (int64_t width : layer_dims) {
    LayerActivity layer;
    layer.units = width;
    for (int64_t i = 0; i < width; ++i, ++d) {
      if (d < m.kl_per_dim.size()) layer.kl += m.kl_per_dim[d];
      layer.active += unit_active(m.kl_per_dim, m.mean_variance, d, active_threshold) ? 1 : 0;
    }
    out.push_back(layer);
  }
  return out;
}

std::string epoch_summary(const EpochMetrics& m, int64_t latent_dim,
                          const std::vector<LayerActivity>& layers) {
  std::string active = std::to_string(m.active_units) + "/" + std::to_string(latent_dim);
  if (layers.size() > 1) {
    // Bottom layer first: "active 31/100 2/50 (KL 24.10 1.35)".
    std::string kl;
    active.clear();
    for (const LayerActivity& layer : layers) {
      active += (active.empty() ? "" : " ") + std::to_string(layer.active) + "/" +
                std::to_string(layer.units);
      kl += (kl.empty() ? "" : " ") + fixed(layer.kl, 2);
    }
    active += " (KL " + kl + ")";
  }
  std::string text =
      "epoch " + std::to_string(m.epoch) + "  beta " + fixed(m.beta, 3) + "  train -ELBO " +
      fixed(m.train_neg_elbo, 2) +
      (m.valid_neg_elbo == m.valid_neg_elbo ? "  valid -ELBO " + fixed(m.valid_neg_elbo, 2)
                                            : std::string()) +
      (m.valid_trained_neg_elbo == m.valid_trained_neg_elbo
           ? " (trained weights " + fixed(m.valid_trained_neg_elbo, 2) + ")"
           : std::string()) +
      (m.valid_neg_iwae == m.valid_neg_iwae
           ? "  valid -L_" + std::to_string(m.valid_iw_samples) + " " + fixed(m.valid_neg_iwae, 2)
           : std::string()) +
      (m.tested ? "  test -ELBO " + fixed(m.test_neg_elbo, 2) + " (recon " +
                      fixed(m.test_recon, 2) + ", KL " + fixed(m.test_kl, 2) + ")  active " + active
                : std::string("  (test set not scored this epoch)"));
  if (m.tested && m.mutual_info == m.mutual_info) text += "  MI " + fixed(m.mutual_info, 2);
  if (m.temperature == m.temperature) text += "  tau " + fixed(m.temperature, 3);
  if (m.lr == m.lr) {
    std::ostringstream rate;
    rate << std::scientific << std::setprecision(2) << m.lr;
    text += "  lr " + rate.str();
  }
  if (m.batch_size > 0) text += "  batch " + std::to_string(m.batch_size);
  text += "  " + fixed(m.seconds, 1) + "s  " + fixed(m.images_per_s, 0) + " img/s";
  if (m.world_size > 1) text += "  all-reduce " + fixed(m.allreduce_ms, 2) + " ms/step";
  return text;
}

}  // namespace vae
