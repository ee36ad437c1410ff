#include "vae/views/model_views.h"

#include <torch/torch.h>

#include <cstdio>

#include "vae/data/batcher.h"
#include "vae/runtime/error.h"
#include "vae/runtime/runtime.h"
#include "vae/views/latent_views.h"
#include "vae/views/scatter_plot.h"

namespace vae {
namespace {

torch::Tensor decode_means(VAE& model, const torch::Tensor& z, torch::Device device) {
  return model->generate(z.to(device)).to(torch::kCPU);
}

// "z3 KL 1.52" (or "z3 off 0.01" for an inactive unit); "var" instead of
// "KL" where the ranking is by the spread of the means; "c3" for a
// categorical variable.
std::string dim_label(const char* unit, int64_t dim, const char* measure, double value,
                      bool active) {
  char text[64];
  std::snprintf(text, sizeof(text), "%s%lld %s%.2f", unit, static_cast<long long>(dim),
                active ? measure : "off ", value);
  return text;
}

// The test KL of each unit where the posterior has one per unit; else
// (flows: one Monte Carlo KL for all) the variance of the (base) means
// across the test set, the active-unit statistic. `active` as the collapse
// monitor counted it.
struct DimScores {
  std::vector<double> values;
  const char* measure;
  std::vector<bool> active;
};
DimScores dim_scores(const TrainedModel& trained) {
  const NetworkOptions& network = trained.config.network;
  const std::vector<double> kl = trained.kl_per_dim();
  const std::vector<double> variance = trained.mean_variance();
  DimScores scores{kl, "KL ", {}};
  if (static_cast<int64_t>(kl.size()) != network.posterior()->units(network))
    scores = {variance, "var ", {}};
  for (size_t d = 0; d < scores.values.size(); ++d)
    scores.active.push_back(unit_active(kl, variance, d, trained.config.active_threshold));
  return scores;
}

// The coordinates of one latent layer in the code: [begin, begin + size).
struct LayerSpan {
  int64_t index;  // 0-based, bottom first
  int64_t begin;
  int64_t size;
};
// `layer` 1-based as --layer gives it; 0: the top layer (the only one of a
// one-layer model).
LayerSpan layer_span(const TrainedModel& trained, int64_t layer) {
  const std::vector<int64_t> dims = trained.config.network.layer_dims();
  const auto count = static_cast<int64_t>(dims.size());
  if (layer < 0 || layer > count) {
    throw Error("--layer must be 1 to " + std::to_string(count) + " (the model's latent layers" +
                ", 1 = bottom), not " + std::to_string(layer));
  }
  LayerSpan span{layer == 0 ? count - 1 : layer - 1, 0, 0};
  for (int64_t l = 0; l < span.index; ++l)
    span.begin += dims[l];
  span.size = dims[span.index];
  return span;
}

// The units of `span` in the order of `order`.
std::vector<int64_t> within(const std::vector<int64_t>& order, const LayerSpan& span) {
  std::vector<int64_t> out;
  for (int64_t d : order) {
    if (d >= span.begin && d < span.begin + span.size) out.push_back(d);
  }
  return out;
}

// Codes [n, D] whose layer `span` was set: a hierarchy regenerates the
// layers below it as the means of p(z_l|z_{l+1}), so that the change
// reaches the decoder (which reads the bottom layer).
torch::Tensor settle(VAE& model, const torch::Tensor& z, const LayerSpan& span,
                     torch::Device device) {
  if (model->hierarchy().is_empty() || span.index == 0) return z;
  return model->hierarchy()->descend(z.to(device), span.index).to(torch::kCPU);
}

}  // namespace

const NameTable<SampleMode>& sample_modes() {
  static const NameTable<SampleMode> table("--mode",
                                           {{SampleMode::kMean, "mean", "pixel probabilities"},
                                            {SampleMode::kSample, "sample", "drawn pixels"}});
  return table;
}

SampleMode parse_sample_mode(const std::string& name) {
  return sample_modes().parse(name);
}

cv::Mat sample_view(TrainedModel& trained, int64_t n, double temperature, SampleMode mode,
                    uint64_t seed, const GridOptions& grid) {
  if (n < 1) throw Error("--n must be positive");
  if (!(temperature > 0.0)) throw Error("--temperature must be positive");
  c10::InferenceMode inference;
  const torch::Tensor z = prior_codes(*trained.model, n, temperature, seed);
  if (mode == SampleMode::kMean)
    return make_grid(decode_means(trained.model, z, trained.device), grid);
  const torch::Tensor output = trained.model->decode(z.to(trained.device)).to(torch::kCPU);
  auto generator = at::detail::createCPUGenerator(seed + 1);
  return make_grid(trained.model->decoder->sample(output, generator), grid);
}

cv::Mat reconstruction_view(TrainedModel& trained, const torch::Tensor& images,
                            const GridOptions& grid) {
  c10::InferenceMode inference;
  const torch::Tensor x = to_model_input(images, trained.device);
  const torch::Tensor recon =
      decode_means(trained.model, trained.model->encode(x)->mean(), trained.device);
  const torch::Tensor originals = x.to(torch::kCPU);
  // Interleave rows: originals of row r, then their reconstructions.
  const int64_t columns = std::max<int64_t>(1, grid.columns);
  std::vector<torch::Tensor> tiles;
  for (int64_t start = 0; start < x.size(0); start += columns) {
    const int64_t count = std::min(columns, x.size(0) - start);
    const torch::Tensor blank = torch::zeros({columns - count, x.size(1), x.size(2), x.size(3)});
    tiles.push_back(torch::cat({originals.narrow(0, start, count), blank}));
    tiles.push_back(torch::cat({recon.narrow(0, start, count), blank}));
  }
  GridOptions options = grid;
  options.columns = columns;
  return make_grid(torch::cat(tiles), options);
}

cv::Mat interpolation_view(TrainedModel& trained, const torch::Tensor& from,
                           const torch::Tensor& to, int64_t steps, bool spherical,
                           const GridOptions& grid) {
  c10::InferenceMode inference;
  const torch::Tensor x = to_model_input(torch::stack({from, to}), trained.device);
  const torch::Tensor mu = trained.model->encode(x)->mean().to(torch::kCPU);
  const torch::Tensor z = interpolate_codes(mu[0], mu[1], steps, spherical);
  const torch::Tensor decoded = decode_means(trained.model, z, trained.device);
  const torch::Tensor originals = x.to(torch::kCPU);
  GridOptions options = grid;
  options.columns = steps + 2;
  return make_grid(torch::cat({originals.narrow(0, 0, 1), decoded, originals.narrow(0, 1, 1)}),
                   options);
}

cv::Mat traversal_view(TrainedModel& trained, const torch::Tensor& image, int64_t steps,
                       double range, GridOptions grid, int64_t layer) {
  const LayerSpan span = layer_span(trained, layer);
  c10::InferenceMode inference;
  const torch::Tensor mu = trained.model->encode(to_model_input(image.unsqueeze(0), trained.device))
                               ->mean()
                               .to(torch::kCPU)[0];
  const NetworkOptions& network = trained.config.network;
  const PosteriorFamily& family = *network.posterior();
  const DimScores scores = dim_scores(trained);
  const std::vector<int64_t> order = within(dims_by_kl(scores.values), span);
  // Coordinates sweep [-range, range]; a categorical variable takes each
  // of its categories, the others at the image's most probable ones.
  const torch::Tensor z = family.coordinate_units() ? traversal_codes(mu, order, steps, range)
                                                    : family.unit_values(mu, order, network);
  grid.columns = z.size(0) / static_cast<int64_t>(order.size());
  grid.row_labels.clear();
  for (int64_t d : order) {
    grid.row_labels.push_back(dim_label(family.coordinate_units() ? "z" : "c", d, scores.measure,
                                        scores.values[d], scores.active[d]));
  }
  return make_grid(
      decode_means(trained.model, settle(trained.model, z, span, trained.device), trained.device),
      grid);
}

cv::Mat pseudo_input_view(TrainedModel& trained, int64_t n, const GridOptions& grid) {
  c10::InferenceMode inference;
  const torch::Tensor images = trained.model->prior().pseudo_inputs(trained.model->prior_context());
  if (!images.defined()) {
    throw Error(std::string("--prior ") + trained.model->prior().name() +
                " has no pseudo-inputs (vae pseudo-inputs needs --prior vamp)");
  }
  const int64_t count = std::min(n, images.size(0));
  // As 8-bit images, the form reconstruction_view reads.
  const torch::Tensor u8 =
      images.narrow(0, 0, count).squeeze(1).mul(255.0).round().to(torch::kCPU, torch::kUInt8);
  return reconstruction_view(trained, u8, grid);
}

cv::Mat manifold_view(TrainedModel& trained, int64_t n, const GridOptions& grid, int64_t layer) {
  c10::InferenceMode inference;
  const LayerSpan span = layer_span(trained, layer);
  const std::vector<int64_t> dims = trained.config.network.layer_dims();
  if (span.index + 1 != static_cast<int64_t>(dims.size())) {
    throw Error("the manifold sweeps the top layer, whose prior is N(0, I) (--layer " +
                std::to_string(dims.size()) + "); vae traverse --layer " +
                std::to_string(span.index + 1) + " shows a lower one");
  }
  const int64_t dim = span.size;
  if (!trained.config.network.posterior()->coordinate_units()) {
    throw Error(std::string("the manifold sweeps two continuous dimensions; --posterior ") +
                trained.config.network.posterior()->name() +
                " has none (vae traverse shows each variable's categories)");
  }
  if (dim < 2) throw Error("the manifold needs a latent space of at least 2 dimensions");
  const std::vector<int64_t> order = within(dims_by_kl(dim_scores(trained).values), span);
  torch::Tensor z = manifold_codes(dim, order[0] - span.begin, order[1] - span.begin, n);
  if (trained.config.network.latent_layers() > 1) {
    torch::Tensor code = torch::zeros({z.size(0), trained.config.network.code_dim()});
    code.narrow(1, span.begin, span.size).copy_(z);
    z = settle(trained.model, code, span, trained.device);
  }
  GridOptions options = grid;
  options.columns = n;
  return make_grid(decode_means(trained.model, z, trained.device), options);
}

cv::Mat scatter_view(TrainedModel& trained, const ImageDataset& test, bool pca, int size,
                     int64_t layer) {
  c10::InferenceMode inference;
  const LayerSpan span = layer_span(trained, layer);
  std::vector<torch::Tensor> means;
  for (int64_t start = 0; start < test.size(); start += 1000) {
    const int64_t count = std::min<int64_t>(1000, test.size() - start);
    means.push_back(
        trained.model->encode(to_model_input(test.images.narrow(0, start, count), trained.device))
            ->mean()
            .to(torch::kCPU));
  }
  const torch::Tensor mu = torch::cat(means).narrow(1, span.begin, span.size);
  ScatterOptions options;
  options.size = size;
  torch::Tensor points;
  // Categorical codes have no two informative coordinates: always PCA of
  // the category probabilities.
  if (pca || mu.size(1) < 2 || !trained.config.network.posterior()->coordinate_units()) {
    if (mu.size(1) < 2) throw Error("the scatter plot needs at least 2 latent dimensions");
    points = pca_project(mu, 2);
    options.x_name = "PC1";
    options.y_name = "PC2";
    options.title = "test-set posterior means (PCA)";
  } else {
    const std::vector<int64_t> order = within(dims_by_kl(dim_scores(trained).values), span);
    points =
        torch::stack({mu.select(1, order[0] - span.begin), mu.select(1, order[1] - span.begin)}, 1);
    options.x_name = "z" + std::to_string(order[0]);
    options.y_name = "z" + std::to_string(order[1]);
    options.title = "test-set posterior means";
  }
  return scatter_plot(points, test.labels, options);
}

cv::Mat training_snapshot(VAE& model, const torch::Tensor& z, const torch::Tensor& x,
                          const GridOptions& grid) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  const torch::Tensor samples = model->generate(z).to(torch::kCPU);
  const torch::Tensor recon = model->generate(model->encode(x)->mean()).to(torch::kCPU);
  model->train(was_training);
  GridOptions options = grid;
  options.columns = x.size(0);
  return stack_vertically(
      {make_grid(samples, grid), make_grid(torch::cat({x.to(torch::kCPU), recon}), options)},
      2 * static_cast<int>(grid.padding), 255);
}

}  // namespace vae
