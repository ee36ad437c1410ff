#include "vae/runtime/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "test_support.h"
#include "vae/runtime/error.h"

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

TEST(AtomicFile, StaleTemporariesOfDeadWritersAreRemoved) {
  testing::ScratchDir dir;
  create_directories(dir.file("images"));
  // pid 0x7fffffff never runs; this process does.
  testing::write_bytes(dir.file("checkpoint.pt.tmp.2147483647"), "half");
  testing::write_bytes(dir.file("images/epoch_001.png.tmp.2147483647"), "half");
  const std::string live = dir.file("metrics.csv.tmp." + std::to_string(::getpid()));
  testing::write_bytes(live, "being written");
  testing::write_bytes(dir.file("notes.tmp.txt"), "not a temporary");
  EXPECT_EQ(remove_stale_temporaries(dir.path()), 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint.pt.tmp.2147483647")));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(dir.file("notes.tmp.txt")));
  EXPECT_EQ(remove_stale_temporaries(dir.file("missing")), 0);
}

TEST(AtomicFile, AReadOnlyFileSystemIsAClearErrorAndNothingIsLost) {
  // /proc/sys refuses new files even for root (permission bits do not).
  const std::string message =
      testing::error_of([] { write_file_atomically("/proc/sys/vae-test.txt", "data"); });
  EXPECT_EQ(message.rfind("cannot write /proc/sys/vae-test.txt: ", 0), 0u) << message;
}

TEST(AtomicFile, APausedWriteLeavesOnlyTheTemporaryBeside) {
  // The fault-injection pause of the crash tests splits the write in two.
  testing::ScratchDir dir;
  write_file_atomically(dir.file("f"), "old");
  setenv("VAE_TEST_WRITE_PAUSE_MS", "1", 1);
  write_file_atomically(dir.file("f"), std::string(1001, 'x'));
  unsetenv("VAE_TEST_WRITE_PAUSE_MS");
  EXPECT_EQ(read_file(dir.file("f")), std::string(1001, 'x'));
}

}  // namespace
}  // namespace vae
