#include "vae/engine/gemm.h"

#include <torch/torch.h>

#include <cstdio>

#include "vae/runtime/error.h"
#include "vae/runtime/interrupt.h"

#ifdef VAE_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace vae {
namespace {

// A 2-D view as a row-major BLAS operand: its data, whether it is stored
// transposed, and its leading dimension. Row-contiguous: 'N' with ld = the
// row stride; column-contiguous (a transposed view): 'T' with ld = the
// column stride.
struct Operand {
  const float* data;
  char trans;
  int64_t ld;
};

Operand operand(const torch::Tensor& t, const char* name) {
  if (t.dim() != 2 || t.scalar_type() != torch::kFloat32 || !t.device().is_cpu()) {
    throw Error(std::string("internal: gemm_out: ") + name + " must be a 2-D float32 CPU matrix");
  }
  // A side of 1 leaves the other stride free: any value >= the row length works.
  if (t.stride(1) == 1 || t.size(1) == 1) {
    return {t.data_ptr<float>(), 'N', std::max<int64_t>({t.stride(0), t.size(1), 1})};
  }
  if (t.stride(0) == 1 || t.size(0) == 1) {
    return {t.data_ptr<float>(), 'T', std::max<int64_t>({t.stride(1), t.size(0), 1})};
  }
  throw Error(std::string("internal: gemm_out: ") + name +
              " has neither contiguous rows nor contiguous columns");
}

#ifdef VAE_WITH_ONEDNN
void onednn_sgemm(char trans_a, char trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* out,
                  int64_t ldc) {
  // Its kernel moves the stack pointer into the heap: signals must not
  // push their frames there (interrupt.h).
  use_alternate_signal_stack();
  const dnnl_status_t status =
      dnnl_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc);
  if (status != dnnl_success) {
    throw Error("oneDNN sgemm failed (status " + std::to_string(status) + ") for " +
                std::to_string(m) + "x" + std::to_string(k) + " times " + std::to_string(k) + "x" +
                std::to_string(n));
  }
}

std::string isa_name(dnnl_cpu_isa_t isa) {
  // Names that oneDNN 2.x and 3.x both define.
  if (isa == dnnl_cpu_isa_avx512_core_amx) return "avx512_core_amx";
  if (isa == dnnl_cpu_isa_avx512_core_bf16) return "avx512_core_bf16";
  if (isa == dnnl_cpu_isa_avx512_core_vnni) return "avx512_core_vnni";
  if (isa == dnnl_cpu_isa_avx512_core) return "avx512_core";
  if (isa == dnnl_cpu_isa_avx2_vnni) return "avx2_vnni";
  if (isa == dnnl_cpu_isa_avx2) return "avx2";
  if (isa == dnnl_cpu_isa_avx) return "avx";
  if (isa == dnnl_cpu_isa_sse41) return "sse41";
  char hex[32];
  std::snprintf(hex, sizeof(hex), "isa 0x%x", static_cast<unsigned>(isa));
  return hex;
}
#endif

}  // namespace

bool onednn_available() {
#ifdef VAE_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}

const NameTable<GemmChoice>& gemm_choices() {
  static const NameTable<GemmChoice> table(
      "--gemm", {{GemmChoice::kAuto, "auto", "oneDNN where built in"},
                 {GemmChoice::kOneDnn, "onednn"},
                 {GemmChoice::kLibTorch, "libtorch", "LibTorch's BLAS"}});
  return table;
}

GemmBackend resolve_gemm(GemmChoice choice) {
  switch (choice) {
    case GemmChoice::kAuto:
      return onednn_available() ? GemmBackend::kOneDnn : GemmBackend::kLibTorch;
    case GemmChoice::kLibTorch:
      return GemmBackend::kLibTorch;
    case GemmChoice::kOneDnn:
      break;
  }
  if (!onednn_available()) {
    throw Error(
        "--gemm onednn: this build has no oneDNN (install libdnnl-dev and rebuild); use "
        "--gemm libtorch or auto");
  }
  return GemmBackend::kOneDnn;
}

GemmBackend parse_gemm(const std::string& name) {
  return resolve_gemm(gemm_choices().parse(name));
}

std::string to_string(GemmBackend backend) {
  return backend == GemmBackend::kOneDnn ? "onednn" : "libtorch";
}

std::string describe_gemm(GemmBackend backend) {
#ifdef VAE_WITH_ONEDNN
  if (backend == GemmBackend::kOneDnn) {
    const dnnl_version_t* v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->patch) + " sgemm (" + isa_name(dnnl_get_effective_cpu_isa()) +
           " kernels)";
  }
#endif
  (void)backend;
  return "LibTorch's BLAS";
}

void gemm_out(GemmBackend backend, const torch::Tensor& out, const torch::Tensor& a,
              const torch::Tensor& b, float alpha, float beta) {
  // Each operand a 2-D float32 CPU matrix (checked for both libraries, so
  // that a bad one fails alike on either), then shapes that fit.
  const Operand c = operand(out, "out");
  [[maybe_unused]] const Operand pa = operand(a, "a"), pb = operand(b, "b");
  if (c.trans != 'N' || a.size(0) != out.size(0) || b.size(1) != out.size(1) ||
      a.size(1) != b.size(0)) {
    const auto dims = [](const torch::Tensor& t) {
      return std::to_string(t.size(0)) + "x" + std::to_string(t.size(1));
    };
    throw Error("internal: gemm_out: shapes " + dims(a) + " times " + dims(b) +
                " into a row-major " + dims(out));
  }
  const int64_t m = out.size(0), n = out.size(1);
  if (m == 0 || n == 0) return;
#ifdef VAE_WITH_ONEDNN
  if (backend == GemmBackend::kOneDnn) {
    onednn_sgemm(pa.trans, pb.trans, m, n, a.size(1), alpha, pa.data, pa.ld, pb.data, pb.ld, beta,
                 const_cast<float*>(c.data), c.ld);
    return;
  }
#endif
  (void)backend;
  // out= operations refuse inputs that require grad in grad mode; oneDNN's
  // path does not care, and neither should a caller.
  const torch::NoGradGuard no_grad;
  torch::Tensor result = out;  // addmm_out takes a non-const reference
  torch::addmm_out(result, out, a, b, beta, alpha);
}

void gemm_raw(GemmBackend backend, char trans_a, char trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
              float* out, int64_t ldc) {
  if ((trans_a != 'N' && trans_a != 'T') || (trans_b != 'N' && trans_b != 'T'))
    throw Error("internal: gemm_raw: transposition flags are 'N' or 'T'");
  if (m == 0 || n == 0) return;
#ifdef VAE_WITH_ONEDNN
  if (backend == GemmBackend::kOneDnn) {
    onednn_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc);
    return;
  }
#endif
  // LibTorch's path through gemm_out, on views of the storage.
  const auto view = [](const float* data, char trans, int64_t rows, int64_t cols, int64_t ld) {
    float* p = const_cast<float*>(data);  // from_blob wants a mutable pointer; only read
    return trans == 'N' ? torch::from_blob(p, {rows, cols}, {ld, 1})
                        : torch::from_blob(p, {cols, rows}, {ld, 1}).t();
  };
  gemm_out(backend, torch::from_blob(out, {m, n}, {ldc, 1}), view(a, trans_a, m, k, lda),
           view(b, trans_b, k, n, ldb), alpha, beta);
}

}  // namespace vae
