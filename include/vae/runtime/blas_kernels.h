// OpenBLAS built with DYNAMIC_ARCH (Debian's libopenblas0) picks its kernels
// by CPU model when it is loaded, and for a model it does not know falls back
// to its generic SSE3 set, "Prescott": Debian bookworm's 0.3.21 does not know
// Intel's model 207 (Emerald Rapids), whose float products then run several
// times slower than on its AVX-512 set. Only the environment variable
// OPENBLAS_CORETYPE, read when the library is loaded, changes the choice, so
// vae names a set and runs itself again (README, Threads).
#pragma once

#include <string>

namespace vae {

struct CpuFeatures {
  bool avx512 = false;    // AVX-512 F, BW, DQ and VL, with the OS saving their state
  bool avx2_fma = false;  // AVX2 and FMA
};
CpuFeatures this_cpu();

// The kernel set to name, or "" to leave OpenBLAS as it is: a set only when
// OpenBLAS runs `core` = "Prescott" (its fallback) and `coretype` (the
// OPENBLAS_CORETYPE a user set, or null) is unset; then "SkylakeX" on a CPU
// with AVX-512, "Haswell" on one with AVX2 and FMA, else "".
std::string better_blas_kernels(const std::string& core, const char* coretype, CpuFeatures cpu);

// Called first in main(): where better_blas_kernels names a set for this
// process, runs the program again (execv of /proc/self/exe, the same
// arguments) with OPENBLAS_CORETYPE set to it and VAE_BLAS_KERNELS_CHOSEN=1,
// which detect_blas() reports. Returns when it leaves things as they are, or
// when the exec fails (the program then goes on with the slow kernels).
void choose_blas_kernels(char** argv);

}  // namespace vae
