// Pictures of a trained model: samples, reconstructions, interpolations,
// latent traversals, the 2-D manifold and the latent scatter plot. Each
// returns an 8-bit image; the CLI writes it with write_png.
#pragma once

#include <torch/types.h>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "vae/data/mnist.h"
#include "vae/model/vae_model.h"
#include "vae/run/metrics.h"
#include "vae/run/trained_model.h"
#include "vae/views/image_grid.h"

namespace vae {

enum class SampleMode { kMean, kSample };
const NameTable<SampleMode>& sample_modes();
SampleMode parse_sample_mode(const std::string& name);

// n decoded prior samples; kSample draws Bernoulli pixels (Gaussian: adds
// noise) from the decoder's distribution instead of showing its mean.
cv::Mat sample_view(TrainedModel& trained, int64_t n, double temperature, SampleMode mode,
                    uint64_t seed, const GridOptions& grid);

// Rows of `columns` test images, each followed by a row of their
// reconstructions (decoded posterior means).
cv::Mat reconstruction_view(TrainedModel& trained, const torch::Tensor& images,
                            const GridOptions& grid);

// Decodes the line (or great circle) between the posterior means of two
// images; the two originals frame the row.
cv::Mat interpolation_view(TrainedModel& trained, const torch::Tensor& from,
                           const torch::Tensor& to, int64_t steps, bool spherical,
                           const GridOptions& grid);

// One row per latent dimension, most informative (largest KL) first, each
// sweeping that dimension over [-range, range] with the others at the
// posterior mean of `image`. Row labels give the dimension and its KL;
// inactive dimensions are marked. `layer` (1-based, 0 = top) picks a
// hierarchy's layer; the layers below it follow as the means of
// p(z_l|z_{l+1}).
cv::Mat traversal_view(TrainedModel& trained, const torch::Tensor& image, int64_t steps,
                       double range, GridOptions grid, int64_t layer = 0);

// The VampPrior's first n pseudo-inputs (rows of `columns`), each row of them
// followed by their reconstructions (decoded posterior means). Throws for
// other priors.
cv::Mat pseudo_input_view(TrainedModel& trained, int64_t n, const GridOptions& grid);

// The decoded n x n manifold over the two most informative dimensions (the
// whole latent space for a 2-D model); of a hierarchy's top layer, the
// layers below it the means of p(z_l|z_{l+1}).
cv::Mat manifold_view(TrainedModel& trained, int64_t n, const GridOptions& grid, int64_t layer = 0);

// Test-set posterior means coloured by label: the two most informative
// dimensions, or the first two principal components with `pca`; of one
// layer of a hierarchy (1-based, 0 = top).
cv::Mat scatter_view(TrainedModel& trained, const ImageDataset& test, bool pca, int size,
                     int64_t layer = 0);

// The picture written after each training epoch: decoded fixed codes `z`
// above the reconstructions of fixed test images `x` (pairs of rows).
cv::Mat training_snapshot(VAE& model, const torch::Tensor& z, const torch::Tensor& x,
                          const GridOptions& grid);

}  // namespace vae
