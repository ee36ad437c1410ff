// Single-precision matrix products on the CPU for the hand-derived training
// step (mlp_gradient), from one of two libraries:
//
//   onednn    oneDNN's dnnl_sgemm (the library LibTorch itself links for its
//             convolutions). It picks its kernels from the CPU it runs on
//             (AVX-512 where there is one; ONEDNN_MAX_CPU_ISA caps them) and
//             is independent of the OPENBLAS_* settings.
//   libtorch  torch::addmm_out: whatever BLAS LibTorch calls (Debian: the
//             active libblas.so.3, OpenBLAS; official builds: MKL).
//
// Why two: on this project's 2-core AMD EPYC machines the environment pins
// OpenBLAS to its AVX2 kernels (OPENBLAS_CORETYPE=Haswell), and oneDNN's
// AVX-512 sgemm runs the model's products about twice as fast
// (docs/performance.md; scripts/bench.sh, `vae bench`). oneDNN is
// optional at build time (Debian's libdnnl-dev); without it every product
// takes LibTorch's path.
#pragma once

#include <torch/types.h>

#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

enum class GemmBackend { kLibTorch, kOneDnn };

// What --gemm asks for: auto is oneDNN where built in, else LibTorch.
enum class GemmChoice { kAuto, kOneDnn, kLibTorch };
const NameTable<GemmChoice>& gemm_choices();

// True when this build was compiled against oneDNN.
bool onednn_available();

// The library a choice runs on. Throws vae::Error for onednn in a build
// without it.
GemmBackend resolve_gemm(GemmChoice choice);
// resolve_gemm of a name ("auto", "onednn" or "libtorch").
GemmBackend parse_gemm(const std::string& name);

// "onednn" | "libtorch".
std::string to_string(GemmBackend backend);

// One line for logs: "oneDNN 2.6.3 sgemm (avx512_core_bf16 kernels)" or
// "LibTorch's BLAS".
std::string describe_gemm(GemmBackend backend);

// out = alpha * a b + beta * out for float32 CPU matrices: a [M, K], b [K, N]
// and out [M, N], each a 2-D view whose rows or columns are contiguous (a
// transposed view such as w.t() or a column block w.narrow(1, ...) is
// fine). With beta = 0 the old values of out are ignored (also NaN). Called
// from inside a parallel region, both libraries run on the calling thread
// alone. Throws vae::Error for shapes that do not fit or a library failure.
void gemm_out(GemmBackend backend, const torch::Tensor& out, const torch::Tensor& a,
              const torch::Tensor& b, float alpha = 1.0f, float beta = 0.0f);

// The same product on raw row-major storage, for inner loops where a tensor
// per operand would cost more than a small product: out [M, N] (row stride
// ldc) = alpha op(a) op(b) + beta out, op(a) [M, K] being a (row stride
// lda) for trans_a 'N' or the transpose of a [K, M] for 'T'; op(b) [K, N]
// alike. No checks beyond the transposition flags: the caller owns the
// shapes.
void gemm_raw(GemmBackend backend, char trans_a, char trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
              float* out, int64_t ldc);

}  // namespace vae
