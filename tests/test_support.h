// Shared helpers for the tests: where the real MNIST is, scratch directories,
// small IDX files.
#pragma once

#include <ATen/Parallel.h>
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "vae/engine/gemm.h"
#include "vae/model/vae_model.h"

namespace vae::testing {

// $MNIST_DIR, else ../shared/data/mnist beside the source tree. Tests that
// need it fail (never skip) when it is missing.
std::string mnist_dir();

// LibTorch's intra-op threads set to n for a scope, and set back at its end
// (also when a failed ASSERT leaves the test early).
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : previous_(at::get_num_threads()) { at::set_num_threads(n); }
  ~ScopedThreads() { at::set_num_threads(previous_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

// A fresh, empty directory under the system temp dir, removed by the
// destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The bytes of an unsigned-byte IDX file with the given sizes and data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);
// gzip-compresses `bytes` (zlib).
std::string gzip(const std::string& bytes);
// The message of the vae::Error that `f` throws, or "" when it throws none.
std::string error_of(const std::function<void()>& f);

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released), for rendezvous stores.
int free_port();

// The diagonal Gaussian posterior's parameters, each [N, latent].
struct MuLogvar {
  torch::Tensor mu, logvar;
};
// The encoder's output split into them, and the model's q(z|x) read as them.
MuLogvar halves(const torch::Tensor& stats);
MuLogvar encode_gaussian(VAE& model, const torch::Tensor& x);
// q(z|x) = N(mu, diag exp(logvar)) as the registered family's object.
std::unique_ptr<Posterior> gaussian_posterior(const torch::Tensor& mu, const torch::Tensor& logvar);

// Largest |got - expected| relative to the largest |expected| (gradients
// differ in scale by orders of magnitude between layers).
double relative_diff(const torch::Tensor& got, const torch::Tensor& expected);
// The backends this build has for the products: LibTorch always, oneDNN
// where it was found.
std::vector<GemmBackend> gemm_backends();

// The `vae` executable built beside the tests.
std::string vae_binary();

// A child process (posix_spawn) with extra environment variables, its
// stdout and stderr in `log_path`.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args,
               const std::vector<std::pair<std::string, std::string>>& env,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // The exit status (128 + signal when killed); waits at most `seconds`,
  // then kills it and returns -1.
  int wait(double seconds = 120.0);
  void kill(int signal);
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool done_ = false;
  int status_ = 0;
};

}  // namespace vae::testing
