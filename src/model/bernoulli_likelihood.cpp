// Bernoulli pixels: the decoder emits logits l, p(x = 1) = sigmoid(l).
// Grey levels in [0, 1] enter the cross-entropy as soft targets, as in the
// PyTorch example; for non-binary x that is not a normalised density
// (Loaiza-Ganem & Cunningham 2019), so only binarized data give a true
// log-likelihood.
#include <torch/torch.h>

#include "vae/model/likelihood.h"

namespace vae {
namespace {

namespace F = torch::nn::functional;

class Bernoulli final : public LikelihoodFamily {
 public:
  const char* name() const override { return "bernoulli"; }
  std::string help() const override { return "binary pixels, logits from the decoder"; }
  bool binary_data() const override { return true; }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& output,
                         const LikelihoodParams& /*params*/) const override {
    // log Bernoulli(x; sigmoid(l)) = x l - softplus(l): three passes over the
    // logits instead of the ~10 of binary_cross_entropy_with_logits, which
    // matters when `vae eval` decodes thousands of samples per image.
    const torch::Tensor logits = output.flatten(1);
    return (x.flatten(1) * logits).sum(1) - torch::softplus(logits).sum(1);
  }
  torch::Tensor log_prob_sum(const torch::Tensor& x, const torch::Tensor& output,
                             const LikelihoodParams& /*params*/) const override {
    return -F::binary_cross_entropy_with_logits(
        output, x, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum));
  }
  torch::Tensor mean(const torch::Tensor& output) const override { return torch::sigmoid(output); }
  torch::Tensor sample(const torch::Tensor& output, const LikelihoodParams& /*params*/,
                       at::Generator& generator) const override {
    return at::bernoulli(mean(output), generator);
  }
  std::string script_mean() const override { return "        h = torch.sigmoid(h)\n"; }
};

}  // namespace

const LikelihoodFamily& bernoulli_likelihood() {
  static const Bernoulli family;
  return family;
}

}  // namespace vae
