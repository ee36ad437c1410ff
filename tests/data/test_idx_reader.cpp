#include "vae/data/idx_reader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using testing::gzip;
using testing::idx_bytes;
using testing::ScratchDir;
using testing::write_bytes;

// Expects read_idx(path) to throw vae::Error whose message names the file
// and contains `part`.
void expect_idx_error(const std::string& path, const std::string& part) {
  try {
    read_idx(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(part), std::string::npos) << what;
  }
}

TEST(IdxReader, ReadsRawAndGzipIdentically) {
  ScratchDir dir;
  const std::vector<uint8_t> data = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
  const std::string bytes = idx_bytes({2, 3, 2}, data);
  write_bytes(dir.file("a.idx"), bytes);
  write_bytes(dir.file("a.idx.gz"), gzip(bytes));
  for (const std::string name : {"a.idx", "a.idx.gz"}) {
    const IdxArray array = read_idx(dir.file(name));
    EXPECT_EQ(array.dims, (std::vector<int64_t>{2, 3, 2}));
    ASSERT_EQ(array.data.sizes(), (torch::IntArrayRef{2, 3, 2}));
    EXPECT_EQ(array.data.scalar_type(), torch::kUInt8);
    EXPECT_EQ(array.data[1][2][1].item<int>(), 255);
    EXPECT_EQ(array.data[0][1][0].item<int>(), 2);
    EXPECT_EQ(array.data.sum().item<int64_t>(),
              0 + 1 + 2 + 3 + 4 + 5 + 250 + 251 + 252 + 253 + 254 + 255);
  }
}

TEST(IdxReader, RejectsWrongMagicNumber) {
  ScratchDir dir;
  std::string bytes = idx_bytes({3}, {1, 2, 3});
  bytes[0] = 0x08;  // e.g. a file of another format
  write_bytes(dir.file("bad"), bytes);
  expect_idx_error(dir.file("bad"), "wrong magic number");
}

TEST(IdxReader, RejectsUnsupportedType) {
  ScratchDir dir;
  std::string bytes = idx_bytes({3}, {1, 2, 3});
  bytes[2] = 0x0D;  // float
  write_bytes(dir.file("float"), bytes);
  expect_idx_error(dir.file("float"), "unsupported IDX data type 0x0D");
}

TEST(IdxReader, RejectsTruncatedData) {
  ScratchDir dir;
  const std::string bytes = idx_bytes({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  write_bytes(dir.file("short"), bytes.substr(0, bytes.size() - 3));
  expect_idx_error(dir.file("short"), "truncated IDX data: header promises 8 bytes, file holds 5");
}

TEST(IdxReader, RejectsTruncatedHeader) {
  ScratchDir dir;
  write_bytes(dir.file("header"), idx_bytes({4, 2}, {}).substr(0, 7));
  expect_idx_error(dir.file("header"), "truncated IDX header");
  write_bytes(dir.file("tiny"), std::string(2, '\0'));
  expect_idx_error(dir.file("tiny"), "truncated IDX file");
}

TEST(IdxReader, RejectsTrailingBytes) {
  ScratchDir dir;
  write_bytes(dir.file("long"), idx_bytes({2}, {1, 2, 3}));
  expect_idx_error(dir.file("long"), "1 unexpected bytes after the IDX data");
}

TEST(IdxReader, RejectsTruncatedGzipStream) {
  ScratchDir dir;
  std::vector<uint8_t> data(5000);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i * 7919 % 251);
  const std::string gz = gzip(idx_bytes({50, 100}, data));
  write_bytes(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  expect_idx_error(dir.file("cut.gz"), "truncated gzip stream");
}

TEST(IdxReader, RejectsCorruptGzipStream) {
  ScratchDir dir;
  std::string gz = gzip(idx_bytes({3}, {1, 2, 3}));
  for (size_t i = 10; i < gz.size() - 8; ++i)
    gz[i] = static_cast<char>(0xFF);
  write_bytes(dir.file("corrupt.gz"), gz);
  expect_idx_error(dir.file("corrupt.gz"), "corrupt gzip stream");
}

TEST(IdxReader, RejectsMissingFile) {
  ScratchDir dir;
  expect_idx_error(dir.file("absent.gz"), "cannot open");
}

TEST(IdxReader, RejectsSizesNoFileCanHold) {
  ScratchDir dir;
  write_bytes(dir.file("huge"), idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2, 3}));
  expect_idx_error(dir.file("huge"),
                   "IDX header declares sizes 4294967295x4294967295x4294967295, far more than "
                   "the 3 bytes");
}

TEST(IdxReader, RejectsZeroDimensions) {
  ScratchDir dir;
  write_bytes(dir.file("zero"), std::string{0, 0, 0x08, 0});
  expect_idx_error(dir.file("zero"), "0 dimensions");
}

TEST(IdxReader, ReadsRealMnistHeaders) {
  const std::string dir = testing::mnist_dir();
  const IdxArray labels = read_idx(dir + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(labels.dims, (std::vector<int64_t>{10000}));
  // The official test set's first labels.
  EXPECT_EQ(labels.data[0].item<int>(), 7);
  EXPECT_EQ(labels.data[1].item<int>(), 2);
  EXPECT_EQ(labels.data[2].item<int>(), 1);
  EXPECT_EQ(labels.data.max().item<int>(), 9);
}

}  // namespace
}  // namespace vae
