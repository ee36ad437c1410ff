#include "vae/runtime.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "vae/error.h"

namespace vae {
namespace {

TEST(Runtime, SelectsDevices) {
  EXPECT_EQ(select_device("cpu"), torch::Device(torch::kCPU));
  std::string note;
  const torch::Device chosen = select_device("auto", &note);
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(chosen.is_cuda());
    EXPECT_EQ(select_device("cuda"), torch::Device(torch::kCUDA, 0));
  } else {
    EXPECT_EQ(chosen, torch::Device(torch::kCPU));
    EXPECT_NE(note.find("no CUDA device"), std::string::npos);
    EXPECT_THROW(select_device("cuda"), Error);
  }
  EXPECT_THROW(select_device("gpu"), Error);
}

TEST(Runtime, SetsTheThreadCount) {
  const int64_t before = torch::get_num_threads();
  EXPECT_EQ(configure_threads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(configure_threads(0), available_cpus());
  EXPECT_EQ(torch::get_num_threads(), available_cpus());
  configure_threads(before);
}

TEST(Runtime, FindsTheBlasLibtorchUses) {
  // A matrix product loads the BLAS if it was not loaded yet.
  torch::mm(torch::ones({64, 64}), torch::ones({64, 64}));
  const BlasInfo blas = detect_blas();
  EXPECT_NE(blas.name, "unknown");
  // scripts/setup.sh installs OpenBLAS and makes it the active libblas.so.3.
  EXPECT_EQ(blas.name, "OpenBLAS") << blas.path;
  EXPECT_FALSE(blas.is_reference);
  const std::string line = describe_runtime(torch::kCPU, 2, blas);
  EXPECT_NE(line.find("device cpu | 2 threads | BLAS OpenBLAS"), std::string::npos) << line;
}

}  // namespace
}  // namespace vae
