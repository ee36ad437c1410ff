// Facts about where the computation runs: device choice, CPU thread count and
// the BLAS library that Debian's LibTorch resolved libblas.so.3 to.
#pragma once

#include <torch/types.h>

#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

enum class DeviceChoice { kAuto, kCpu, kCuda };
const NameTable<DeviceChoice>& device_choices();

// auto: CUDA when torch::cuda::is_available(), else CPU. cuda without a
// usable CUDA device throws vae::Error. `note` receives a message when auto
// falls back to the CPU on a build that has CUDA support but no device.
torch::Device select_device(DeviceChoice choice, std::string* note = nullptr);
// The same for a --device name.
torch::Device select_device(const std::string& name, std::string* note = nullptr);

// The CPUs this process may run on (sched_getaffinity), at least 1.
int64_t available_cpus();

// Sets LibTorch's intra-op threads (and OpenBLAS's, when it is loaded) to
// `requested`, or to available_cpus() when it is 0. Returns the count used.
int64_t configure_threads(int64_t requested);

// Sets flush-to-zero and denormals-are-zero for float arithmetic on the
// calling thread (at::globalContext().setFlushDenormal), and so for every
// thread it starts afterwards; returns false where the CPU has no such mode.
// Why: Adam's first moment of a weight whose gradient is exactly 0 (an input
// pixel that is black in every image, a dead ReLU unit) shrinks by beta1 per
// step through the denormal range: after 2 epochs of the default MLP a
// quarter of the first layer's moments are denormal. Each operation on one
// takes a microcode assist on Intel CPUs, which doubled a Xeon's epoch time
// by the third epoch (docs/performance.md); flushed, the losses are the same
// to the printed digits. Called first thing in main().
bool flush_denormals();

// Keeps freed memory in the process for reuse. glibc returns the top of its
// heap to the kernel whenever more than twice the largest recent block is
// free, so a loop that frees and re-allocates tensors of tens of MB (`vae
// eval`'s chunks of codes and logits) takes page faults on every pass: a
// third of its time went to the kernel (docs/performance.md). Sets glibc's
// mmap threshold to its maximum (32 MiB) and never trims. No-op elsewhere.
// Called first thing in main().
void keep_freed_memory();

struct BlasInfo {
  std::string name;           // "OpenBLAS", "reference BLAS", "MKL", ... or "unknown"
  std::string path;           // resolved shared object, if found
  std::string details;        // e.g. OpenBLAS's config string and core name
  bool is_reference = false;  // netlib's reference BLAS: very slow
};

// The library that serves sgemm_ in this process (dladdr), and for OpenBLAS
// its build configuration and kernel set.
BlasInfo detect_blas();

// "device cpu | 2 threads | BLAS OpenBLAS ... | LibTorch 1.13.1".
std::string describe_runtime(torch::Device device, int64_t threads, const BlasInfo& blas);

}  // namespace vae
