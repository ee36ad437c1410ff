// MNIST-format data sets (MNIST, Fashion-MNIST): the four IDX files of a
// directory, loaded once into memory as uint8 tensors.
#pragma once

#include <torch/types.h>

#include <string>

namespace vae {

enum class Split { kTrain, kTest };

struct ImageDataset {
  torch::Tensor images;  // uint8 [N, H, W] (grey) or [N, C, H, W], values 0..255
  torch::Tensor labels;  // uint8 [N]
  int64_t size() const { return images.size(0); }
  int64_t channels() const { return images.dim() == 4 ? images.size(1) : 1; }
  int64_t height() const { return images.size(images.dim() - 2); }
  int64_t width() const { return images.size(images.dim() - 1); }
};

// Loads `train-images-idx3-ubyte[.gz]` + `train-labels-idx1-ubyte[.gz]` (or
// the t10k-* pair) from `dir`. Throws vae::Error naming the file when a file
// is missing or malformed, when images are not 3-D or labels not 1-D, or when
// their counts disagree.
ImageDataset load_mnist(const std::string& dir, Split split);

// The data directory to use: `flag` if non-empty, else $MNIST_DIR, else
// "data/mnist".
std::string resolve_data_dir(const std::string& flag);

// "28x28 grey" or "32x32 colour": an image shape for messages and the log.
std::string shape_text(int64_t channels, int64_t height, int64_t width);

// The first `n` examples (all of them when n <= 0 or n >= size).
ImageDataset take_first(const ImageDataset& data, int64_t n);

}  // namespace vae
