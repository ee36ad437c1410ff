#include "vae/training/bench.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "vae/data/batcher.h"
#include "vae/data/mnist.h"
#include "vae/evaluation/evaluation.h"
#include "vae/run/run_setup.h"
#include "vae/runtime/progress.h"
#include "vae/runtime/runtime.h"
#include "vae/training/train_step.h"

namespace vae {
namespace {

using Clock = std::chrono::steady_clock;

// Runs `x` through `body` one element at a time, recording the products.
torch::Tensor trace(torch::nn::Sequential body, torch::Tensor x, const std::string& prefix,
                    std::vector<LayerProduct>& out) {
  int64_t index = 0;
  for (auto& any : *body) {
    const std::shared_ptr<torch::nn::Module> module = any.ptr();
    const torch::Tensor y = any.forward(x);
    const std::string name = prefix + "." + std::to_string(index++);
    if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      out.push_back(
          {name + " (linear)", 1, linear->options.in_features(), linear->options.out_features()});
    } else if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      const auto& o = conv->options;
      const int64_t k = (*o.kernel_size())[0] * (*o.kernel_size())[1];
      out.push_back(
          {name + " (conv)", y.size(2) * y.size(3), o.in_channels() * k, o.out_channels()});
    } else if (auto* deconv = module->as<torch::nn::ConvTranspose2dImpl>()) {
      const auto& o = deconv->options;
      const int64_t k = (*o.kernel_size())[0] * (*o.kernel_size())[1];
      out.push_back({name + " (transposed conv)", x.size(2) * x.size(3), o.in_channels(),
                     o.out_channels() * k});
    }
    x = y;
  }
  return x;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double median_seconds(const std::function<void()>& f, int repeats) {
  for (int i = 0; i < 3; ++i)
    f();
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    f();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return median(times);
}

}  // namespace

std::vector<LayerProduct> layer_products(VAE& model) {
  c10::InferenceMode inference;
  const NetworkOptions& o = model->options();
  std::vector<LayerProduct> layers;
  const torch::Tensor x = torch::zeros({1, o.in_channels(), o.height(), o.width()});
  const torch::Tensor features = trace(model->encoder->body(), x, "encoder.body", layers);
  const auto& head = model->encoder->head()->options;
  layers.push_back({"encoder.head (linear)", 1, head.in_features(), head.out_features()});
  (void)features;
  trace(model->decoder->body(), torch::zeros({1, o.latent_dim()}), "decoder.body", layers);
  return layers;
}

double training_flop_per_image(const std::vector<LayerProduct>& layers) {
  double flop = 0.0;
  for (const LayerProduct& layer : layers)
    flop += 3.0 * layer.forward_flop();
  if (!layers.empty()) flop -= layers.front().forward_flop();  // no gradient for the data
  return flop;
}

double matmul_seconds_per_step(const std::vector<LayerProduct>& layers, int64_t batch,
                               GemmBackend gemm, int repeats) {
  torch::NoGradGuard no_grad;
  double total = 0.0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerProduct& l = layers[i];
    const int64_t m = batch * l.rows;
    // As a Linear layer with weight [out, in] is computed:
    // y = x W^T, dx = dy W, dW = dy^T x.
    const torch::Tensor x = torch::randn({m, l.inner});
    const torch::Tensor w = torch::randn({l.cols, l.inner});
    const torch::Tensor dy = torch::randn({m, l.cols});
    const torch::Tensor y = torch::empty({m, l.cols}), dx = torch::empty({m, l.inner});
    const torch::Tensor dw = torch::empty({l.cols, l.inner});
    total += median_seconds([&] { gemm_out(gemm, y, x, w.t()); }, repeats);
    if (i > 0) total += median_seconds([&] { gemm_out(gemm, dx, dy, w); }, repeats);
    total += median_seconds([&] { gemm_out(gemm, dw, dy.t(), x); }, repeats);
  }
  return total;
}

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      int64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

namespace {

// What the timings share: the trainer's set-up (run_setup.h) for `config`.
struct BenchRig {
  TrainConfig config;
  torch::Device device;
  VAE model;
  Batcher train_batches, test_batches;

  // Waits for the device's queued work (CUDA), so that times are complete.
  void sync() const {
    if (device.is_cuda()) torch::cuda::synchronize();
  }
  // A timed run: `steps` steps of the trainer's own step (TrainStep: the
  // gradient, then the optimizer), from the start of an epoch; the images
  // seen go to `images`.
  double time_steps(TrainStep& step, int64_t steps, int64_t* images) {
    const auto start = Clock::now();
    int64_t next = 0, count = 0;
    torch::Tensor loss;
    for (int64_t s = 0; s < steps; ++s) {
      if (next == 0) train_batches.shuffle();
      const int64_t rows = train_batches.batch_rows(next);
      const torch::Tensor x = train_batches.batch(next);
      next = (next + 1) % train_batches.num_batches();
      loss = step.gradient(x, rows, Shard{0, rows}, 1.0).loss;
      step.apply();
      count += rows;
    }
    if (loss.defined()) loss.item<double>();  // the last step has finished
    sync();
    if (images != nullptr) *images = count;
    return seconds_since(start);
  }
};

// The training step (and with options.baseline the autograd step, in turn),
// `r.repeats` timed runs each after the warm-up. Returns the step's GEMM.
GemmBackend time_training(BenchRig& rig, const BenchOptions& options, BenchResult& r) {
  r.steps = options.steps > 0 ? options.steps : rig.train_batches.num_batches();
  r.repeats = std::max<int64_t>(1, options.repeats);
  TrainStep step(rig.model, rig.config);
  r.train_step = step.describe();
  std::unique_ptr<TrainStep> baseline;
  VAE baseline_model{nullptr};
  if (options.baseline) {
    TrainConfig plain = rig.config;
    plain.train_step = StepEngine::kAutograd;
    baseline_model = make_model(rig.config, rig.device);
    baseline = std::make_unique<TrainStep>(baseline_model, plain);
    r.baseline_step = baseline->describe();
    rig.time_steps(*baseline, options.warmup, nullptr);
  }
  rig.time_steps(step, options.warmup, nullptr);
  // Repeats alternate with the baseline's, so that both see the same
  // machine; the medians are reported.
  std::vector<double> times, baseline_times;
  for (int64_t k = 0; k < r.repeats; ++k) {
    times.push_back(rig.time_steps(step, r.steps, &r.images));
    if (baseline) baseline_times.push_back(rig.time_steps(*baseline, r.steps, nullptr));
  }
  r.train_seconds = median(times);
  r.train_seconds_min = *std::min_element(times.begin(), times.end());
  r.train_seconds_max = *std::max_element(times.begin(), times.end());
  if (baseline) r.baseline_train_seconds = median(baseline_times);
  r.images_per_s = static_cast<double>(r.images) / r.train_seconds;
  r.epoch_seconds = static_cast<double>(r.train_set) / r.images_per_s;
  r.gflops = r.images_per_s * r.flop_per_image / 1e9;
  if (baseline) {
    r.baseline_epoch_seconds =
        r.baseline_train_seconds * static_cast<double>(r.train_set) / static_cast<double>(r.images);
  }
  return step.gemm();
}

// GFLOP/s and seconds per epoch of the model's products alone on `gemm`
// (and on LibTorch's BLAS when that is another library).
void probe_matmul(const BenchRig& rig, GemmBackend gemm, BenchResult& r) {
  const auto probe = [&](GemmBackend backend, double& gflops, double& epoch_seconds) {
    const double seconds = matmul_seconds_per_step(r.layers, rig.config.batch_size, backend);
    gflops = r.flop_per_image * static_cast<double>(rig.config.batch_size) / seconds / 1e9;
    epoch_seconds = r.flop_per_image * static_cast<double>(r.train_set) / (gflops * 1e9);
    return seconds;
  };
  r.matmul_gemm = describe_gemm(gemm);
  r.matmul_seconds_per_step = probe(gemm, r.matmul_gflops, r.matmul_epoch_seconds);
  if (gemm != GemmBackend::kLibTorch) {
    probe(GemmBackend::kLibTorch, r.blas_matmul_gflops, r.blas_matmul_epoch_seconds);
  }
}

// One test-set evaluation without and with the mutual information, then
// encoding the test set (each after a warm-up pass).
void time_evaluation(BenchRig& rig, BenchResult& r) {
  const GemmBackend gemm = resolve_gemm(rig.config.gemm);
  const EvalOptions plain{rig.config.active_threshold, false, gemm},
      with_mi{rig.config.active_threshold, true, gemm};
  evaluate(rig.model, rig.test_batches, plain);  // warm-up
  rig.sync();
  auto start = Clock::now();
  evaluate(rig.model, rig.test_batches, plain);
  rig.sync();
  r.eval_seconds = seconds_since(start);
  start = Clock::now();
  evaluate(rig.model, rig.test_batches, with_mi);
  rig.sync();
  r.eval_seconds_with_mi = seconds_since(start);

  c10::InferenceMode inference;
  rig.model->eval();
  for (int pass = 0; pass < 2; ++pass) {  // the first pass warms up
    start = Clock::now();
    for (int64_t i = 0; i < rig.test_batches.num_batches(); ++i)
      rig.model->encode(rig.test_batches.batch(i))->mean().sum().item<double>();
    rig.sync();
    r.encode_seconds = seconds_since(start);
  }
}

}  // namespace

BenchResult run_bench(TrainConfig config, const BenchOptions& options) {
  const torch::Device device = select_device(config.device);
  const int64_t threads = configure_threads(config.threads);
  BenchResult r;
  r.runtime = describe_runtime(device, threads, detect_blas());
  const RunData data = load_run_data(config);
  fit_network_to_data(config, data.train);
  r.config = to_json(config);
  r.train_set = data.train.size();
  r.test_set = data.test.size();
  if (options.log != nullptr) *options.log << "vae bench | " << r.runtime << "\n";

  // The trainer's set-up: the same model and batches.
  VAE model = make_model(config, device);
  BenchRig rig{config, device, model, training_batches(config, data.train, device),
               evaluation_batches(config, data.test, device)};
  r.layers = layer_products(model);
  r.flop_per_image = training_flop_per_image(r.layers);
  const GemmBackend gemm = time_training(rig, options, r);
  if (!device.is_cuda()) probe_matmul(rig, gemm, r);
  time_evaluation(rig, r);
  r.peak_rss_bytes = peak_rss_bytes();
  return r;
}

std::string bench_report(const BenchResult& r) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof(line), "model: %.3f MFLOP per training image in %zu layers\n",
                r.flop_per_image / 1e6, r.layers.size());
  out << line;
  std::snprintf(line, sizeof(line),
                "training     %s\n"
                "             %lld steps, %lld images in %.3f s (median of %lld; %.3f-%.3f): "
                "%.0f img/s, %.1f GFLOP/s; one epoch of %lld images: %.3f s\n",
                r.train_step.c_str(), static_cast<long long>(r.steps),
                static_cast<long long>(r.images), r.train_seconds,
                static_cast<long long>(r.repeats), r.train_seconds_min, r.train_seconds_max,
                r.images_per_s, r.gflops, static_cast<long long>(r.train_set), r.epoch_seconds);
  out << line;
  if (r.baseline_train_seconds > 0.0) {
    std::snprintf(line, sizeof(line),
                  "baseline     %s, timed in turn with the above: one epoch %.3f s; the "
                  "training step above is %.2fx faster\n",
                  r.baseline_step.c_str(), r.baseline_epoch_seconds,
                  r.baseline_train_seconds / r.train_seconds);
    out << line;
  }
  if (r.matmul_gflops > 0.0) {
    std::snprintf(line, sizeof(line),
                  "matmul only  the same products timed alone (%s): %.1f GFLOP/s, %.3f s per "
                  "epoch; training reaches %.0f%% of that rate\n",
                  r.matmul_gemm.c_str(), r.matmul_gflops, r.matmul_epoch_seconds,
                  100.0 * r.gflops / r.matmul_gflops);
    out << line;
  }
  if (r.blas_matmul_gflops > 0.0) {
    std::snprintf(line, sizeof(line),
                  "             on LibTorch's BLAS instead: %.1f GFLOP/s, %.3f s per epoch\n",
                  r.blas_matmul_gflops, r.blas_matmul_epoch_seconds);
    out << line;
  }
  std::snprintf(line, sizeof(line),
                "evaluation   %lld test images (-ELBO, KL per dimension, active units): %.3f s; "
                "with the mutual-information estimate: %.3f s\n"
                "encoding     %lld images through the encoder: %.3f s, %.0f img/s\n"
                "peak memory  %.0f MB resident\n",
                static_cast<long long>(r.test_set), r.eval_seconds, r.eval_seconds_with_mi,
                static_cast<long long>(r.test_set), r.encode_seconds,
                static_cast<double>(r.test_set) / r.encode_seconds,
                static_cast<double>(r.peak_rss_bytes) / 1e6);
  out << line;
  return out.str();
}

nlohmann::json to_json(const BenchResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerProduct& l : r.layers) {
    layers.push_back({{"name", l.name}, {"rows", l.rows}, {"inner", l.inner}, {"cols", l.cols}});
  }
  return {{"version", VAE_VERSION},
          {"runtime", r.runtime},
          {"config", r.config},
          {"layers", layers},
          {"flop_per_training_image", r.flop_per_image},
          {"train",
           {{"step", r.train_step},
            {"steps", r.steps},
            {"repeats", r.repeats},
            {"seconds_min", r.train_seconds_min},
            {"seconds_max", r.train_seconds_max},
            {"images", r.images},
            {"seconds", r.train_seconds},
            {"images_per_s", r.images_per_s},
            {"gflops", r.gflops},
            {"epoch_images", r.train_set},
            {"epoch_seconds", r.epoch_seconds}}},
          {"baseline",
           {{"step", r.baseline_step},
            {"seconds", r.baseline_train_seconds},
            {"epoch_seconds", r.baseline_epoch_seconds}}},
          {"matmul",
           {{"gemm", r.matmul_gemm},
            {"seconds_per_step", r.matmul_seconds_per_step},
            {"gflops", r.matmul_gflops},
            {"epoch_seconds", r.matmul_epoch_seconds},
            {"training_fraction", r.matmul_gflops > 0.0 ? r.gflops / r.matmul_gflops : 0.0},
            {"libtorch_blas_gflops", r.blas_matmul_gflops},
            {"libtorch_blas_epoch_seconds", r.blas_matmul_epoch_seconds}}},
          {"eval",
           {{"images", r.test_set},
            {"seconds", r.eval_seconds},
            {"seconds_with_mi", r.eval_seconds_with_mi}}},
          {"encode", {{"images", r.test_set}, {"seconds", r.encode_seconds}}},
          {"peak_rss_bytes", r.peak_rss_bytes}};
}

}  // namespace vae
