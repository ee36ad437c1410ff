// mlp: fully connected throughout, 784-400-20 by default (the PyTorch
// example): the encoder's trunk takes the flattened image, the decoder's
// last linear layer gives every pixel.
#include <torch/torch.h>

#include "vae/model/architecture.h"
#include "vae/model/network_options.h"

namespace vae {
namespace {

class Mlp final : public NetworkArchitecture {
 public:
  const char* name() const override { return "mlp"; }
  std::string help() const override { return "fully connected"; }

  int64_t add_encoder_front(const NetworkOptions& options,
                            torch::nn::Sequential& /*body*/) const override {
    return options.input_size();
  }
  void add_decoder_back(const NetworkOptions& options, torch::nn::Sequential& body,
                        int64_t features) const override {
    namespace nn = torch::nn;
    body->push_back(nn::Linear(features, options.input_size()));
    body->push_back(nn::Unflatten(
        nn::UnflattenOptions(1, {options.in_channels(), options.height(), options.width()})));
  }
};

}  // namespace

const NetworkArchitecture& mlp_architecture() {
  static const Mlp architecture;
  return architecture;
}

}  // namespace vae
