#include "vae/evaluation/anomaly_scores.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <memory>

#include "vae/data/batcher.h"
#include "vae/runtime/error.h"
#include "vae/runtime/progress.h"

namespace vae {

const NameTable<OodMethod>& ood_methods() {
  static const NameTable<OodMethod> table(
      "--methods",
      {{OodMethod::kLikelihood, "likelihood", "-log p(x)"},
       {OodMethod::kComplexity, "complexity", "-log p(x) minus the PNG length, Serra et al. 2020"},
       {OodMethod::kRatio, "ratio", "against a background model, Ren et al. 2019"},
       {OodMethod::kRegret, "regret", "encoder re-fitted per image, Xiao et al. 2020"},
       {OodMethod::kTypicality, "typicality", "batch typicality test, Nalisnick et al. 2019"}});
  return table;
}

std::vector<double> png_complexity_nats(const torch::Tensor& images_u8) {
  if (images_u8.scalar_type() != torch::kUInt8 || (images_u8.dim() != 3 && images_u8.dim() != 4))
    throw Error("internal: PNG complexity needs uint8 images [N, H, W] or [N, C, H, W]");
  const torch::Tensor images = images_u8.dim() == 3 ? images_u8.unsqueeze(1) : images_u8;
  const int64_t n = images.size(0), c = images.size(1);
  if (c != 1 && c != 3) throw Error("PNG complexity needs 1 or 3 channels");
  // [N, H, W, C], colour planes in OpenCV's BGR order (the length does not
  // depend on it much, but this is what a PNG of the picture would hold).
  const torch::Tensor hwc =
      (c == 3 ? images.flip({1}) : images).permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
  const int rows = static_cast<int>(hwc.size(1)), cols = static_cast<int>(hwc.size(2));
  std::vector<double> nats(static_cast<size_t>(n));
  // Binary images (0 and 255 only, as binarized models read them) as 1-bit
  // PNG: a code for what the model codes, not for 8-bit grey levels.
  const bool binary = c == 1 && ((images == 0) | (images == 255)).all().item<bool>();
  std::vector<int> params = {cv::IMWRITE_PNG_COMPRESSION, 9};
  if (binary) params.insert(params.end(), {cv::IMWRITE_PNG_BILEVEL, 1});
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    std::vector<uchar> bytes;
    for (int64_t i = begin; i < end; ++i) {
      const cv::Mat image(rows, cols, c == 3 ? CV_8UC3 : CV_8UC1, hwc[i].data_ptr<uint8_t>());
      if (!cv::imencode(".png", image, bytes, params)) throw Error("PNG encoding failed");
      nats[static_cast<size_t>(i)] = 8.0 * std::log(2.0) * static_cast<double>(bytes.size());
    }
  });
  return nats;
}

std::vector<double> complexity_scores(const std::vector<double>& nll,
                                      const torch::Tensor& images_u8) {
  std::vector<double> scores = png_complexity_nats(images_u8);
  if (scores.size() != nll.size()) throw Error("internal: complexity of another set");
  for (size_t i = 0; i < scores.size(); ++i)
    scores[i] = nll[i] - scores[i];
  return scores;
}

std::vector<double> ratio_scores(const std::vector<double>& nll,
                                 const std::vector<double>& background_nll) {
  if (background_nll.size() != nll.size()) throw Error("internal: ratio of another set");
  std::vector<double> scores(nll.size());
  for (size_t i = 0; i < nll.size(); ++i)
    scores[i] = nll[i] - background_nll[i];
  return scores;
}

namespace {

// -ELBO of x [1, C, H, W] averaged over the draws eps [D, noise].
torch::Tensor mean_neg_elbo(VAE& model, const torch::Tensor& x, const torch::Tensor& eps) {
  const int64_t d = eps.size(0);
  const torch::Tensor xs = x.expand({d, x.size(1), x.size(2), x.size(3)});
  const ElboSums sums = model->elbo_sums(xs, eps);
  return (sums.recon + sums.kl_per_dim.sum()) / static_cast<double>(d);
}

// Only the encoder learns while an image's regret is measured; everything
// else keeps requires_grad off (no gradients computed for the decoder), and
// every flag is put back when this goes out of scope.
class EncoderOnly {
 public:
  explicit EncoderOnly(VAE& model) {
    for (const auto& p : model->named_parameters()) {
      params_.push_back(p.value());
      flags_.push_back(p.value().requires_grad());
      p.value().requires_grad_(false);
    }
    for (torch::Tensor& p : model->encoder->parameters())
      p.requires_grad_(true);
  }
  ~EncoderOnly() {
    for (size_t i = 0; i < params_.size(); ++i)
      params_[i].requires_grad_(flags_[i]);
  }
  EncoderOnly(const EncoderOnly&) = delete;
  EncoderOnly& operator=(const EncoderOnly&) = delete;

 private:
  std::vector<torch::Tensor> params_;
  std::vector<bool> flags_;
};

}  // namespace

std::vector<double> likelihood_regret(VAE& model, const torch::Tensor& images_u8,
                                      torch::Device device, const RegretOptions& options) {
  if (options.steps < 1 || options.draws < 1 || options.eval_draws < 1 || !(options.lr > 0.0))
    throw Error("regret needs positive steps, draws and learning rate");
  const bool was_training = model->is_training();
  model->eval();
  EncoderOnly only(model);
  std::vector<torch::Tensor> weights = model->encoder->parameters();
  std::vector<torch::Tensor> saved;
  {
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& w : weights)
      saved.push_back(w.detach().clone());
  }
  auto generator = at::detail::createCPUGenerator(options.seed);
  const int64_t n = images_u8.size(0);
  std::unique_ptr<Progress> progress;
  if (options.log != nullptr) {
    progress = std::make_unique<Progress>(*options.log, options.terminal, "regret", n, 500);
    progress->set_value_name("regret");
  }
  std::vector<double> regret(static_cast<size_t>(n));
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor x = to_model_input(images_u8.narrow(0, i, 1), device);
    const torch::Tensor eval_eps =
        torch::randn({options.eval_draws, model->noise_size()}, generator).to(device);
    double before = 0.0;
    {
      torch::NoGradGuard no_grad;
      before = mean_neg_elbo(model, x, eval_eps).item<double>();
    }
    torch::optim::Adam adam(weights, torch::optim::AdamOptions(options.lr));
    for (int64_t s = 0; s < options.steps; ++s) {
      const torch::Tensor eps =
          torch::randn({options.draws, model->noise_size()}, generator).to(device);
      adam.zero_grad();
      mean_neg_elbo(model, x, eps).backward();
      adam.step();
    }
    torch::NoGradGuard no_grad;
    const double after = mean_neg_elbo(model, x, eval_eps).item<double>();
    for (size_t w = 0; w < weights.size(); ++w)
      weights[w].copy_(saved[w]);
    regret[static_cast<size_t>(i)] = before - after;
    total += before - after;
    if (progress && progress->due(i + 1))
      progress->update(i + 1, i + 1, total / static_cast<double>(i + 1), i + 1);
  }
  if (progress) progress->finish();
  for (torch::Tensor& w : weights)
    w.mutable_grad() = torch::Tensor();
  model->train(was_training);
  return regret;
}

std::vector<double> typicality_scores(const std::vector<double>& nll, double entropy,
                                      int64_t batch) {
  if (batch < 1) throw Error("--typicality-batch must be at least 1");
  std::vector<double> scores;
  for (size_t start = 0; start + static_cast<size_t>(batch) <= nll.size();
       start += static_cast<size_t>(batch)) {
    double sum = 0.0;
    for (int64_t j = 0; j < batch; ++j)
      sum += nll[start + static_cast<size_t>(j)];
    scores.push_back(std::abs(sum / static_cast<double>(batch) - entropy));
  }
  return scores;
}

}  // namespace vae
