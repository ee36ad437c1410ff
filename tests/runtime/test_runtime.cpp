#include "vae/runtime/runtime.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstring>
#include <thread>

#include "vae/runtime/error.h"

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

TEST(Runtime, FlushesDenormalsOnTheThreadAndThoseItStarts) {
  // The modes are per thread: try it on a thread of its own, and on one
  // that thread starts, leaving the test process as it was.
  std::thread([] {
    volatile float tiny = 1e-30f;
    EXPECT_GT(tiny * 1e-10f, 0.0f);  // a denormal, before
    ASSERT_TRUE(flush_denormals());  // every x86-64 CPU has the SSE modes
    EXPECT_EQ(tiny * 1e-10f, 0.0f);
    volatile float denormal_bits = 0.0f;
    const uint32_t smallest = 1;  // the smallest positive denormal
    std::memcpy(const_cast<float*>(&denormal_bits), &smallest, sizeof(smallest));
    EXPECT_EQ(denormal_bits * 1.0f, 0.0f);  // denormal inputs read as 0
    std::thread([&] { EXPECT_EQ(tiny * 1e-10f, 0.0f); }).join();
  }).join();
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
