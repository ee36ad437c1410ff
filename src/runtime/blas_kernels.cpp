#include "vae/runtime/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace vae {

CpuFeatures this_cpu() {
  CpuFeatures cpu;
#if defined(__x86_64__) && defined(__GNUC__)
  // libgcc's checks include the OS's support (XGETBV) of the AVX states.
  __builtin_cpu_init();
  cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return cpu;
}

std::string better_blas_kernels(const std::string& core, const char* coretype, CpuFeatures cpu) {
  if (coretype != nullptr || core != "Prescott") return "";
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2_fma) return "Haswell";
  return "";
}

void choose_blas_kernels(char** argv) {
  using GetString = char* (*)();
  const auto corename = reinterpret_cast<GetString>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (corename == nullptr) return;  // not OpenBLAS, or one without the call
  const char* core = corename();
  const std::string kernels = better_blas_kernels(core != nullptr ? core : "",
                                                  std::getenv("OPENBLAS_CORETYPE"), this_cpu());
  if (kernels.empty()) return;
  if (setenv("OPENBLAS_CORETYPE", kernels.c_str(), 1) != 0 ||
      setenv("VAE_BLAS_KERNELS_CHOSEN", "1", 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  // Only on failure (no /proc, say): go on as we are, without the marks.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("VAE_BLAS_KERNELS_CHOSEN");
}

}  // namespace vae
