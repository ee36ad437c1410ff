#include "script_layers.h"

#include <torch/torch.h>

#include <sstream>

#include "vae/runtime/error.h"

namespace vae {

namespace nn = torch::nn;

namespace {

std::string pair_text(const torch::ExpandingArray<2>& value) {
  return "[" + std::to_string((*value)[0]) + ", " + std::to_string((*value)[1]) + "]";
}

// Conv2d's padding is a variant (explicit sizes, or "valid" / "same"): a
// c10::variant in LibTorch 1.x, a std::variant in 2.x. The unqualified
// visit finds the right one by argument-dependent lookup.
template <typename Padding>
std::string padding_text(const Padding& padding) {
  return visit(
      [](const auto& value) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, torch::ExpandingArray<2>>) {
          return pair_text(value);
        } else {
          throw Error("export: only explicit convolution padding is supported");
        }
      },
      padding);
}

}  // namespace

std::string int_list(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

// Registers the parameters of `layer` as `prefix_weight` / `prefix_bias`
// (copies on the CPU) and returns their names.
std::pair<std::string, std::string> register_layer(torch::jit::Module& module,
                                                   const nn::Module& layer,
                                                   const std::string& prefix) {
  const auto params = layer.named_parameters(/*recurse=*/false);
  const std::string weight = prefix + "_weight", bias = prefix + "_bias";
  module.register_parameter(weight, params["weight"].detach().to(torch::kCPU).clone(), false);
  module.register_parameter(bias, params["bias"].detach().to(torch::kCPU).clone(), false);
  return {"self." + weight, "self." + bias};
}

// TorchScript lines computing `h = layers(h)`, one line per layer.
std::string script_layers(torch::jit::Module& module, const nn::Sequential& layers,
                          const std::string& prefix) {
  std::ostringstream code;
  size_t index = 0;
  for (const auto& child : layers->children()) {
    const std::string name = prefix + std::to_string(index++);
    if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(child)) {
      const auto [w, b] = register_layer(module, *linear, name);
      code << "        h = torch.linear(h, " << w << ", " << b << ")\n";
    } else if (auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(child)) {
      const auto [w, b] = register_layer(module, *conv, name);
      const auto& o = conv->options;
      code << "        h = torch.conv2d(h, " << w << ", " << b << ", " << pair_text(o.stride())
           << ", " << padding_text(o.padding()) << ")\n";
    } else if (auto deconv = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(child)) {
      const auto [w, b] = register_layer(module, *deconv, name);
      const auto& o = deconv->options;
      code << "        h = torch.conv_transpose2d(h, " << w << ", " << b << ", "
           << pair_text(o.stride()) << ", " << padding_text(o.padding()) << ")\n";
    } else if (std::dynamic_pointer_cast<nn::ReLUImpl>(child)) {
      code << "        h = torch.relu(h)\n";
    } else if (std::dynamic_pointer_cast<nn::TanhImpl>(child)) {
      code << "        h = torch.tanh(h)\n";
    } else if (std::dynamic_pointer_cast<nn::FlattenImpl>(child)) {
      code << "        h = torch.flatten(h, 1)\n";
    } else if (auto unflatten = std::dynamic_pointer_cast<nn::UnflattenImpl>(child)) {
      std::vector<int64_t> shape = {-1};
      for (int64_t size : unflatten->options.sizes())
        shape.push_back(size);
      code << "        h = h.reshape(" << int_list(shape) << ")\n";
    } else {
      throw Error("export: no TorchScript translation for layer " + child->name());
    }
  }
  return code.str();
}

}  // namespace vae
