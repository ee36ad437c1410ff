// Reader for the IDX format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
// {0, 0, type, ndim}, ndim big-endian uint32 sizes, then the data.
// Files may be gzip-compressed or raw; zlib reads both.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace vae {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  torch::Tensor data;         // uint8, shape `dims`, on the CPU
};

// Reads an unsigned-byte IDX file (type 0x08), gzip-compressed or not.
// Throws vae::Error naming the file and the problem: missing file, corrupt
// gzip stream, bad magic number, unsupported type, sizes that disagree with
// the file length (truncated or trailing bytes).
IdxArray read_idx(const std::string& path);

// The parser behind read_idx, on bytes already in memory; `name` is used in
// error messages.
IdxArray parse_idx(const std::string& bytes, const std::string& name);

}  // namespace vae
