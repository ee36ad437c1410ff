// conv: stride-2 4x4 convolutions, each halving the image, before the
// encoder's fully connected trunk; the decoder mirrors them with transposed
// convolutions after its trunk.
#include <torch/torch.h>

#include "vae/model/architecture.h"
#include "vae/model/network_options.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

class Conv final : public NetworkArchitecture {
 public:
  const char* name() const override { return "conv"; }
  std::string help() const override { return "stride-2 convolutions, transposed in the decoder"; }
  bool image_input() const override { return true; }

  void validate(const NetworkOptions& o) const override {
    if (o.channels().empty()) throw Error("--channels needs at least one size for the conv model");
    for (int64_t c : o.channels()) {
      if (c <= 0) throw Error("--channels sizes must be positive");
    }
    const int64_t factor = int64_t{1} << o.channels().size();
    if (o.height() % factor != 0 || o.width() % factor != 0) {
      throw Error("the conv model halves the image " + std::to_string(o.channels().size()) +
                  " times, so its size must divide by " + std::to_string(factor) + "; " +
                  std::to_string(o.height()) + "x" + std::to_string(o.width()) + " does not");
    }
  }

  int64_t add_encoder_front(const NetworkOptions& o, torch::nn::Sequential& body) const override {
    namespace nn = torch::nn;
    int64_t channels = o.in_channels(), h = o.height(), w = o.width();
    for (int64_t out : o.channels()) {
      body->push_back(nn::Conv2d(nn::Conv2dOptions(channels, out, 4).stride(2).padding(1)));
      body->push_back(nn::ReLU());
      channels = out;
      h /= 2;
      w /= 2;
    }
    return channels * h * w;
  }

  void add_decoder_back(const NetworkOptions& o, torch::nn::Sequential& body,
                        int64_t features) const override {
    namespace nn = torch::nn;
    const auto& channels = o.channels();
    const int64_t factor = int64_t{1} << channels.size();
    const int64_t h = o.height() / factor, w = o.width() / factor;
    body->push_back(nn::Linear(features, channels.back() * h * w));
    body->push_back(nn::ReLU());
    body->push_back(nn::Unflatten(nn::UnflattenOptions(1, {channels.back(), h, w})));
    for (size_t i = channels.size(); i-- > 0;) {
      const int64_t out = i > 0 ? channels[i - 1] : o.in_channels();
      body->push_back(nn::ConvTranspose2d(
          nn::ConvTranspose2dOptions(channels[i], out, 4).stride(2).padding(1)));
      if (i > 0) body->push_back(nn::ReLU());
    }
  }
};

}  // namespace

const NetworkArchitecture& conv_architecture() {
  static const Conv architecture;
  return architecture;
}

}  // namespace vae
