// `vae bench`: how fast training, evaluation and encoding run here, and how
// close training comes to the machine's matrix-product speed at the model's
// own layer shapes.
//
// Cost model. Every layer is a matrix product per image: a Linear layer
// [1 x in] x [in x out]; a convolution, as im2col, [Hout*Wout x Cin*k*k] x
// [Cin*k*k x Cout]; a transposed convolution, as col2im, [Hin*Win x Cin] x
// [Cin x Cout*k*k]. Forward costs 2*m*k*n FLOP; backward costs the same twice
// (gradients of the weights and of the input), except that nobody needs the
// gradient of the data, so the first layer's input gradient is not counted.
// For the default MLP (784-400-20): 3.28 MFLOP per image.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "vae/engine/gemm.h"
#include "vae/model/vae_model.h"
#include "vae/run/config.h"

namespace vae {

// One layer as a matrix product, per image: [rows x inner] x [inner x cols].
struct LayerProduct {
  std::string name;  // e.g. "encoder.body.1 (linear)"
  int64_t rows = 1;
  int64_t inner = 0;
  int64_t cols = 0;
  double forward_flop() const { return 2.0 * rows * inner * cols; }
};

// The layers of `model` in the order data flows through them (encoder body,
// head, decoder body), traced with one image so that convolution sizes are
// the real ones.
std::vector<LayerProduct> layer_products(VAE& model);

// Training FLOP per image: 3 x forward, less the first layer's input
// gradient (see above).
double training_flop_per_image(const std::vector<LayerProduct>& layers);

// The three products of each layer (forward, input gradient, weight gradient)
// at batch size `batch`, timed alone on `gemm` (whole products, the library's
// own threads): their median times summed, in seconds per step. `repeats`
// timings per product.
double matmul_seconds_per_step(const std::vector<LayerProduct>& layers, int64_t batch,
                               GemmBackend gemm, int repeats = 15);

// Peak resident memory of this process so far (VmHWM), bytes; 0 if unknown.
int64_t peak_rss_bytes();

struct BenchOptions {
  int64_t steps = 0;  // timed training steps; 0 = one epoch
  int64_t warmup = 20;
  int64_t repeats = 3;          // timed runs of `steps`; the median is reported
  bool baseline = false;        // also time --train-step autograd, in turn with the step
  std::ostream* log = nullptr;  // the start-up line; nullptr: none
};

struct BenchResult {
  std::string runtime;  // describe_runtime()
  nlohmann::json config;
  std::vector<LayerProduct> layers;
  double flop_per_image = 0.0;
  int64_t train_set = 0, test_set = 0;
  std::string train_step;  // TrainStep::describe()
  int64_t steps = 0, images = 0, repeats = 0;
  double train_seconds = 0.0;  // median of the repeats
  double train_seconds_min = 0.0, train_seconds_max = 0.0;
  std::string baseline_step;          // with BenchOptions::baseline
  double baseline_train_seconds = 0;  // median, the same steps
  double baseline_epoch_seconds = 0;
  double images_per_s = 0.0, gflops = 0.0, epoch_seconds = 0.0;
  // The products alone on the library the step uses (0 on CUDA: not
  // measured), and on LibTorch's BLAS when that is another one.
  std::string matmul_gemm;  // describe_gemm()
  double matmul_seconds_per_step = 0.0;
  double matmul_gflops = 0.0, matmul_epoch_seconds = 0.0;
  double blas_matmul_gflops = 0.0, blas_matmul_epoch_seconds = 0.0;
  double eval_seconds = 0.0;          // -ELBO, KL per dimension, active units
  double eval_seconds_with_mi = 0.0;  // and the mutual-information estimate
  double encode_seconds = 0.0;        // the test set through the encoder
  int64_t peak_rss_bytes = 0;
};

// Builds the model `config` describes on its data, trains `steps` steps after
// `warmup` untimed ones (the trainer's step, TrainStep: gradient, optimizer),
// `repeats` times (and as many of the autograd baseline with `baseline`), then times
// one test-set evaluation without and with the MI estimate, and encoding.
BenchResult run_bench(TrainConfig config, const BenchOptions& options);

// The human-readable report (one line per measurement) and the JSON form.
std::string bench_report(const BenchResult& result);
nlohmann::json to_json(const BenchResult& result);

}  // namespace vae
