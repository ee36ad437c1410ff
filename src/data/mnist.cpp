#include "vae/data/mnist.h"

#include <cstdlib>
#include <filesystem>

#include "vae/data/idx_reader.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// Prefers the gzip file (the official distribution), then the raw file.
std::string find_idx_file(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  for (const std::string& candidate : {stem + ".gz", stem}) {
    const fs::path path = fs::path(dir) / candidate;
    if (fs::exists(path)) return path.string();
  }
  throw Error("missing data file " + (fs::path(dir) / (stem + ".gz")).string() +
              " (nor an uncompressed " + stem +
              "); point --data-dir or $MNIST_DIR at a directory holding the four MNIST IDX "
              "files, or run scripts/get_mnist.sh");
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i)
    out += (i ? "x" : "") + std::to_string(dims[i]);
  return out;
}

}  // namespace

ImageDataset load_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string image_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");

  IdxArray images = read_idx(image_path);
  if (images.dims.size() != 3) {
    throw Error(image_path + ": expected 3 dimensions (count, rows, columns), found " +
                std::to_string(images.dims.size()) + " (" + dims_text(images.dims) + ")");
  }
  if (images.dims[1] == 0 || images.dims[2] == 0) {
    throw Error(image_path + ": images of size " + dims_text(images.dims) + " are empty");
  }
  IdxArray labels = read_idx(label_path);
  if (labels.dims.size() != 1) {
    throw Error(label_path + ": expected 1 dimension (count), found " +
                std::to_string(labels.dims.size()) + " (" + dims_text(labels.dims) + ")");
  }
  if (images.dims[0] != labels.dims[0]) {
    throw Error(image_path + " holds " + std::to_string(images.dims[0]) + " images but " +
                label_path + " holds " + std::to_string(labels.dims[0]) + " labels");
  }
  if (images.dims[0] == 0) throw Error(image_path + ": holds no images");
  return {images.data, labels.data};
}

std::string shape_text(int64_t channels, int64_t height, int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width) +
         (channels == 1 ? " grey" : " colour");
}

std::string resolve_data_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("MNIST_DIR"); env != nullptr && *env != '\0') return env;
  return "data/mnist";
}

ImageDataset take_first(const ImageDataset& data, int64_t n) {
  if (n <= 0 || n >= data.size()) return data;
  return {data.images.narrow(0, 0, n), data.labels.narrow(0, 0, n)};
}

}  // namespace vae
