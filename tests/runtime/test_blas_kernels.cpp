#include "vae/runtime/blas_kernels.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace vae {
namespace {

TEST(BlasKernels, NamesASetOnlyForOpenBlasFallback) {
  const CpuFeatures avx512{true, true}, avx2{false, true}, plain{};
  EXPECT_EQ(better_blas_kernels("Prescott", nullptr, avx512), "SkylakeX");
  EXPECT_EQ(better_blas_kernels("Prescott", nullptr, avx2), "Haswell");
  EXPECT_EQ(better_blas_kernels("Prescott", nullptr, plain), "");
  // OpenBLAS knew the CPU: its own choice stands.
  EXPECT_EQ(better_blas_kernels("SkylakeX", nullptr, avx512), "");
  EXPECT_EQ(better_blas_kernels("Haswell", nullptr, avx512), "");
  EXPECT_EQ(better_blas_kernels("", nullptr, avx512), "");
  // A user's OPENBLAS_CORETYPE is kept, whatever it says.
  EXPECT_EQ(better_blas_kernels("Prescott", "Prescott", avx512), "");
  EXPECT_EQ(better_blas_kernels("Prescott", "", avx512), "");
}

TEST(BlasKernels, CpuFeaturesAgreeWithTheKernelsCpuFlags) {
  // /proc/cpuinfo's flags list what the CPU and the kernel support.
  std::ifstream in("/proc/cpuinfo");
  ASSERT_TRUE(in) << "no /proc/cpuinfo";
  std::string line, flags;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  }
  ASSERT_FALSE(flags.empty());
  const auto has = [&flags](const std::string& f) {
    return flags.find(" " + f + " ") != std::string::npos;
  };
  const CpuFeatures cpu = this_cpu();
  EXPECT_EQ(cpu.avx2_fma, has("avx2") && has("fma"));
  EXPECT_EQ(cpu.avx512, has("avx512f") && has("avx512bw") && has("avx512dq") && has("avx512vl"));
}

}  // namespace
}  // namespace vae
