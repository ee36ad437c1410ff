#include "vae/runtime/distributed.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "vae/runtime/error.h"

namespace vae {
namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long long parsed = std::strtoll(value, &end, 10);
  if (*end != '\0') {
    throw Error(std::string("environment variable ") + name + "='" + value + "' is not an integer");
  }
  return parsed;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// c10d logs its socket retries and failures through glog in Debian's
// LibTorch, which would put several lines beside vae's one-line error.
// Only errors that vae reports itself are at stake, so glog is told to keep
// quiet unless TORCH_CPP_LOG_LEVEL asks for c10's logs.
void quiet_c10d_logging() {
  if (std::getenv("TORCH_CPP_LOG_LEVEL") != nullptr) return;
  if (auto* level = static_cast<int32_t*>(dlsym(RTLD_DEFAULT, "_ZN3fLI17FLAGS_minloglevelE"))) {
    *level = 3;  // FATAL only
  }
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The process group of one backend class (ProcessGroupGloo, ProcessGroupNCCL):
// LibTorch 1.13 derives them from c10d::ProcessGroup, 2.x from c10d::Backend,
// with the same collective signatures, so the concrete class is held.
template <typename Group>
class GroupCommunicator final : public Communicator {
 public:
  GroupCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Group> group,
                    int64_t rank, int64_t world_size, std::string backend, torch::Device device)
      : Communicator(rank, world_size, std::move(backend), device),
        store_(std::move(store)),
        group_(std::move(group)) {}

  void all_reduce(torch::Tensor& tensor, ReduceOp op) override {
    std::vector<torch::Tensor> tensors{tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = op == ReduceOp::kSum ? c10d::ReduceOp::SUM : c10d::ReduceOp::MAX;
    run("all-reduce", [&] { group_->allreduce(tensors, options)->wait(); });
  }

  void broadcast(torch::Tensor& tensor, int64_t root) override {
    std::vector<torch::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    run("broadcast", [&] { group_->broadcast(tensors, options)->wait(); });
  }

  void barrier() override {
    run("barrier", [&] { group_->barrier()->wait(); });
  }

  void all_reduce_async(torch::Tensor& tensor) override {
    std::vector<torch::Tensor> tensors{tensor};
    run("all-reduce", [&] { pending_.push_back(group_->allreduce(tensors)); });
  }

  void wait() override {
    run("all-reduce", [&] {
      while (!pending_.empty()) {
        auto work = pending_.front();
        pending_.pop_front();
        work->wait();
      }
    });
  }

 private:
  template <typename F>
  void run(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      pending_.clear();
      throw Error("rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) +
                  ": the " + what + " failed (" + first_line(e.what()) +
                  "): another rank stopped or cannot be reached; its own output says why");
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Group> group_;
  std::deque<decltype(std::declval<Group&>().allreduce(
      std::declval<std::vector<torch::Tensor>&>()))>
      pending_;
};

c10::intrusive_ptr<c10d::Store> join_store(const DistributedOptions& options) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(options.master_port);
  store_options.isServer = options.rank == 0;
  store_options.numWorkers = static_cast<std::size_t>(options.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = to_ms(options.timeout_s);
  try {
    return c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
  } catch (const std::exception& e) {
    const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
    const std::string why = first_line(e.what());
    if (options.rank == 0) {
      throw Error("rank 0 of " + std::to_string(options.world_size) +
                  ": cannot open the rendezvous store at " + where + " (" + why +
                  "): is the port in use? Choose another MASTER_PORT");
    }
    throw Error("rank " + std::to_string(options.rank) + " of " +
                std::to_string(options.world_size) + ": cannot reach the rendezvous store at " +
                where + " within " + std::to_string(static_cast<int64_t>(options.timeout_s)) +
                " s (" + why + "): is rank 0 running, and MASTER_ADDR/MASTER_PORT its address?");
  }
}

}  // namespace

void DistributedOptions::validate() const {
  if (world_size < 1) {
    throw Error("the world size must be at least 1, not " + std::to_string(world_size));
  }
  if (rank < 0 || rank >= world_size) {
    throw Error("the rank must be in [0, " + std::to_string(world_size) + "), not " +
                std::to_string(rank));
  }
  if (master_port < 1 || master_port > 65535) {
    throw Error("the master port must be in 1..65535, not " + std::to_string(master_port));
  }
  if (local_world_size < 1) {
    throw Error("LOCAL_WORLD_SIZE must be at least 1, not " + std::to_string(local_world_size));
  }
  if (local_rank < 0) throw Error("LOCAL_RANK must not be negative");
  if (!(timeout_s > 0.0)) throw Error("--dist-timeout must be positive");
  if (master_addr.empty()) throw Error("the master address is empty");
}

DistributedOptions distributed_options_from_environment() {
  DistributedOptions options;
  options.rank = env_int("RANK", options.rank);
  options.world_size = env_int("WORLD_SIZE", options.world_size);
  options.master_port = env_int("MASTER_PORT", options.master_port);
  options.local_world_size = env_int("LOCAL_WORLD_SIZE", options.world_size);
  options.local_rank =
      env_int("LOCAL_RANK", options.rank % std::max<int64_t>(1, options.local_world_size));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    options.master_addr = addr;
  }
  return options;
}

bool distributed_available(torch::Device device) {
#ifdef USE_C10D_NCCL
  if (device.is_cuda()) return true;
#endif
#ifdef USE_C10D_GLOO
  if (device.is_cpu()) return true;
#endif
  (void)device;
  return false;
}

Shard shard_of(int64_t n, int64_t rank, int64_t world_size) {
  const int64_t base = n / world_size, extra = n % world_size;
  Shard shard;
  shard.begin = rank * base + std::min(rank, extra);
  shard.count = base + (rank < extra ? 1 : 0);
  return shard;
}

std::unique_ptr<Communicator> Communicator::connect(const DistributedOptions& options,
                                                    torch::Device device) {
  options.validate();
  if (!distributed_available(device)) {
    throw Error(std::string("this build of vae has no c10d process group for ") +
                (device.is_cuda() ? "CUDA (NCCL)" : "the CPU (Gloo)") +
                ": rebuild with libgloo-dev installed (scripts/setup.sh does), or train in one "
                "process");
  }
  quiet_c10d_logging();
  c10::intrusive_ptr<c10d::Store> store = join_store(options);
  const int rank = static_cast<int>(options.rank), size = static_cast<int>(options.world_size);
  try {
#ifdef USE_C10D_NCCL
    if (device.is_cuda()) {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = to_ms(options.timeout_s);
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, nccl_options);
      return std::make_unique<GroupCommunicator<c10d::ProcessGroupNCCL>>(
          store, group, options.rank, options.world_size, "nccl", device);
    }
#endif
#ifdef USE_C10D_GLOO
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(to_ms(options.timeout_s));
    // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; on one
    // machine loopback; otherwise the address this host's name resolves to.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (is_loopback(options.master_addr)) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    gloo_options->threads = 2;  // PyTorch's default
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo_options);
    return std::make_unique<GroupCommunicator<c10d::ProcessGroupGloo>>(
        store, group, options.rank, options.world_size, "gloo", torch::kCPU);
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(rank) + " of " + std::to_string(size) +
                ": the process group did not form within " +
                std::to_string(static_cast<int64_t>(options.timeout_s)) + " s (" +
                first_line(e.what()) + "): did all " + std::to_string(size) +
                " ranks start with the same MASTER_ADDR and MASTER_PORT? Across machines, set "
                "GLOO_SOCKET_IFNAME to the network interface to use");
  }
  throw Error("internal: no process group backend");
}

std::string Communicator::broadcast_string(const std::string& text, int64_t root) {
  torch::Tensor length = torch::full({1}, static_cast<int64_t>(text.size()),
                                     torch::TensorOptions(device()).dtype(torch::kLong));
  broadcast(length, root);
  const int64_t n = length.item<int64_t>();
  torch::Tensor bytes = torch::zeros({std::max<int64_t>(n, 1)}, torch::kUInt8);
  if (rank() == root) std::memcpy(bytes.data_ptr<uint8_t>(), text.data(), text.size());
  bytes = bytes.to(device());
  broadcast(bytes, root);
  bytes = bytes.to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                     static_cast<size_t>(n));
}

void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors,
                       int64_t root) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& t : tensors) {
    if (t.is_contiguous()) {
      torch::Tensor view = t;
      comm.broadcast(view, root);
    } else {
      torch::Tensor copy = t.contiguous();
      comm.broadcast(copy, root);
      t.copy_(copy);
    }
  }
}

bool tensors_agree(Communicator& comm, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  double sum = 0.0, squares = 0.0;
  for (const torch::Tensor& t : tensors) {
    const torch::Tensor d = t.detach().to(torch::kCPU, torch::kFloat64);
    sum += d.sum().item<double>();
    squares += d.pow(2).sum().item<double>();
  }
  // max over ranks of (s, -s) gives the largest and the smallest value.
  torch::Tensor stats =
      torch::tensor({sum, -sum, squares, -squares}, torch::kFloat64).to(comm.device());
  comm.all_reduce(stats, ReduceOp::kMax);
  stats = stats.to(torch::kCPU);
  const auto* s = stats.data_ptr<double>();
  return s[0] == -s[1] && s[2] == -s[3];
}

}  // namespace vae
