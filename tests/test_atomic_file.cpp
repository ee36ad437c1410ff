#include "vae/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"
#include "vae/error.h"

namespace vae {
namespace {

TEST(AtomicFile, WritesAndReplacesWithoutLeavingTemporaries) {
  testing::ScratchDir dir;
  const std::string path = dir.file("out.txt");
  write_file_atomically(path, "first");
  write_file_atomically(path, "second, longer");
  EXPECT_EQ(read_file(path), "second, longer");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(AtomicFile, AFailedWriteKeepsThePreviousFile) {
  testing::ScratchDir dir;
  // The destination is a non-empty directory: the final rename must fail
  // (even for root, unlike permission bits).
  const std::string target = dir.file("target");
  std::filesystem::create_directory(target);
  testing::write_bytes(target + "/keep", "precious");
  try {
    write_file_atomically(target, "new");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write " + target), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(target + "/keep"), "precious");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);  // the temporary file was removed
}

TEST(AtomicFile, MissingDirectoryIsAClearError) {
  EXPECT_THROW(write_file_atomically("/nonexistent-dir/x/out.txt", "data"), Error);
  EXPECT_THROW(read_file("/nonexistent-dir/x/out.txt"), Error);
  testing::ScratchDir dir;
  create_directories(dir.file("a/b/c"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("a/b/c")));
}

}  // namespace
}  // namespace vae
