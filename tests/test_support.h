// Shared helpers for the tests: where the real MNIST is, scratch directories,
// small IDX files.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace vae::testing {

// $MNIST_DIR, else ../shared/data/mnist beside the source tree. Tests that
// need it fail (never skip) when it is missing.
std::string mnist_dir();

// A fresh, empty directory under the system temp dir, removed by the
// destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The bytes of an unsigned-byte IDX file with the given sizes and data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);
// gzip-compresses `bytes` (zlib).
std::string gzip(const std::string& bytes);
// The message of the vae::Error that `f` throws, or "" when it throws none.
std::string error_of(const std::function<void()>& f);

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

}  // namespace vae::testing
