#include "vae/engine/layer_pattern.h"

#include <torch/torch.h>

namespace vae {

bool layers_are(const torch::nn::Sequential& layers, const std::string& head,
                const std::string& repeated, const std::string& tail) {
  const auto children = layers->children();
  const size_t fixed = head.size() + tail.size();
  if (children.size() < fixed || (children.size() - fixed) % repeated.size() != 0) return false;
  std::string pattern = head;
  for (size_t i = 0; i < (children.size() - fixed) / repeated.size(); ++i)
    pattern += repeated;
  pattern += tail;
  for (size_t i = 0; i < children.size(); ++i) {
    const auto& child = children[i];
    bool ok = false;
    switch (pattern[i]) {
      case 'F':
        ok = child->as<torch::nn::FlattenImpl>() != nullptr;
        break;
      case 'L': {
        const auto* linear = child->as<torch::nn::LinearImpl>();
        ok = linear != nullptr && linear->bias.defined();
        break;
      }
      case 'R':
        ok = child->as<torch::nn::ReLUImpl>() != nullptr;
        break;
      case 'U':
        ok = child->as<torch::nn::UnflattenImpl>() != nullptr;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace vae
