#include "vae/runtime.h"

#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "vae/error.h"

namespace vae {
namespace {

int collect_library(struct dl_phdr_info* info, size_t /*size*/, void* data) {
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
    static_cast<std::vector<std::string>*>(data)->push_back(info->dlpi_name);
  }
  return 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

torch::Device select_device(const std::string& name, std::string* note) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available()) {
      throw Error(
          "--device cuda: no CUDA device is available (this LibTorch build has no CUDA "
          "support, or no GPU is visible); use --device cpu or auto");
    }
    return torch::Device(torch::kCUDA, 0);
  }
  if (name == "auto") {
    if (torch::cuda::is_available()) return torch::Device(torch::kCUDA, 0);
    if (note != nullptr) *note = "no CUDA device available, training on the CPU";
    return torch::kCPU;
  }
  throw Error("--device must be auto, cpu or cuda, not '" + name + "'");
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
  std::vector<std::string> libraries;
  dl_iterate_phdr(collect_library, &libraries);

  BlasInfo info;
  info.name = "unknown";
  for (const std::string& lib : libraries) {
    std::error_code ec;
    const std::string resolved = std::filesystem::canonical(lib, ec).string();
    const std::string path = ec ? lib : resolved;
    const std::string file = std::filesystem::path(path).filename().string();
    if (contains(path, "openblas")) {
      info = {"OpenBLAS", path, "", false};
      break;
    }
    if (contains(file, "mkl_rt") || contains(file, "mkl_core")) {
      info = {"MKL", path, "", false};
      break;
    }
    if (contains(path, "blis")) {
      info = {"BLIS", path, "", false};
      break;
    }
    if (contains(path, "atlas")) {
      info = {"ATLAS", path, "", false};
      break;
    }
    if (contains(file, "libblas.so")) {
      // Debian's netlib reference BLAS lives in .../blas/libblas.so.3.
      info = {"reference BLAS", path, "", true};
    }
  }
  using GetString = char* (*)();
  if (auto config = reinterpret_cast<GetString>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info.name = "OpenBLAS";
    info.is_reference = false;
    info.details = config();
    if (auto core = reinterpret_cast<GetString>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) {
      info.details += std::string(", kernels ") + core();
    }
    if (const char* coretype = std::getenv("OPENBLAS_CORETYPE")) {
      info.details += std::string(", OPENBLAS_CORETYPE=") + coretype;
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
