#include "vae/runtime/runtime.h"

#include <dlfcn.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <thread>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "vae/runtime/error.h"

namespace vae {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

const NameTable<DeviceChoice>& device_choices() {
  static const NameTable<DeviceChoice> table("--device",
                                             {{DeviceChoice::kAuto, "auto", "CUDA when available"},
                                              {DeviceChoice::kCpu, "cpu"},
                                              {DeviceChoice::kCuda, "cuda"}});
  return table;
}

torch::Device select_device(DeviceChoice choice, std::string* note) {
  switch (choice) {
    case DeviceChoice::kCpu:
      return torch::kCPU;
    case DeviceChoice::kCuda:
      if (!torch::cuda::is_available()) {
        throw Error(
            "--device cuda: no CUDA device is available (this LibTorch build has no CUDA "
            "support, or no GPU is visible); use --device cpu or auto");
      }
      return torch::Device(torch::kCUDA, 0);
    case DeviceChoice::kAuto:
      break;
  }
  if (torch::cuda::is_available()) return torch::Device(torch::kCUDA, 0);
  if (note != nullptr) *note = "no CUDA device available, training on the CPU";
  return torch::kCPU;
}

torch::Device select_device(const std::string& name, std::string* note) {
  return select_device(device_choices().parse(name), note);
}

int64_t available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? hardware : 1;
}

bool flush_denormals() {
  return at::globalContext().setFlushDenormal(true);
}

void keep_freed_memory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

int64_t configure_threads(int64_t requested) {
  const int64_t threads = requested > 0 ? requested : available_cpus();
  torch::set_num_threads(static_cast<int>(threads));
  // The pthreads build of OpenBLAS keeps its own pool; the OpenMP build
  // follows omp_set_num_threads, which LibTorch already called.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(static_cast<int>(threads));
  }
  return threads;
}

BlasInfo detect_blas() {
  // Ask the dynamic linker which library serves sgemm_, the symbol LibTorch's
  // float matrix products call: that is the BLAS in use, whatever else is
  // loaded.
  BlasInfo info;
  info.name = "unknown";
  Dl_info where{};
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sgemm != nullptr && dladdr(sgemm, &where) != 0 && where.dli_fname != nullptr) {
    std::error_code ec;
    const std::string resolved = std::filesystem::canonical(where.dli_fname, ec).string();
    info.path = ec ? where.dli_fname : resolved;
    const std::string& path = info.path;
    if (contains(path, "openblas")) {
      info.name = "OpenBLAS";
    } else if (contains(path, "mkl")) {
      info.name = "MKL";
    } else if (contains(path, "blis")) {
      info.name = "BLIS";
    } else if (contains(path, "atlas")) {
      info.name = "ATLAS";
    } else if (contains(path, "libblas.so")) {
      // Debian's netlib reference BLAS: .../blas/libblas.so.3.
      info.name = "reference BLAS";
      info.is_reference = true;
    } else if (contains(path, "libtorch")) {
      info.name = "built into LibTorch";
    }
  }
  using GetString = char* (*)();
  if (info.name == "OpenBLAS") {
    if (auto config = reinterpret_cast<GetString>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
      info.details = config();
    }
    if (auto core = reinterpret_cast<GetString>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) {
      info.details += std::string(info.details.empty() ? "" : ", ") + "kernels " + core();
    }
    if (const char* coretype = std::getenv("OPENBLAS_CORETYPE")) {
      info.details += std::string(", OPENBLAS_CORETYPE=") + coretype;
      // blas_kernels.h: named by vae, since OpenBLAS did not know this CPU.
      if (std::getenv("VAE_BLAS_KERNELS_CHOSEN") != nullptr)
        info.details += " (set by vae: OpenBLAS does not know this CPU)";
    }
  }
  return info;
}

std::string describe_runtime(torch::Device device, int64_t threads, const BlasInfo& blas) {
  std::string text = "device " + device.str();
  if (device.is_cuda()) text += " (" + std::to_string(torch::cuda::device_count()) + " visible)";
  text += " | " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  text += " | BLAS " + blas.name;
  if (!blas.details.empty()) text += " (" + blas.details + ")";
  text += " | LibTorch " TORCH_VERSION;
  return text;
}

}  // namespace vae
