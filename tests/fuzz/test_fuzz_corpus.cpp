// Replays the fuzzing corpus (tests/fuzz/corpus/<target>/: small valid and
// invalid seeds, and every input that once crashed a target) through the
// fuzz targets' own checks: each file must parse or be refused with
// vae::Error. In the sanitizer build this is the fuzzers' regression suite.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "fuzz/fuzz_targets.h"
#include "test_support.h"

namespace vae {
namespace {

void replay(const std::string& target, void (*check)(const uint8_t*, size_t)) {
  const std::filesystem::path dir =
      std::filesystem::path(VAE_SOURCE_DIR) / "tests/fuzz/corpus" / target;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string bytes = testing::read_bytes(entry.path().string());
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(check(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    ++files;
  }
  EXPECT_GE(files, 5) << dir;
}

TEST(FuzzCorpus, IdxReader) {
  replay("idx_reader", fuzz::idx_reader);
}
TEST(FuzzCorpus, ImageInput) {
  replay("image_input", fuzz::image_input);
}
TEST(FuzzCorpus, Config) {
  replay("config", fuzz::config);
}
TEST(FuzzCorpus, Checkpoint) {
  replay("checkpoint", fuzz::checkpoint);
}

}  // namespace
}  // namespace vae
