// Data-parallel training across processes on PyTorch's c10d engine: a
// TCPStore rendezvous (rank 0 hosts it) and a process group, Gloo on the CPU
// or NCCL on CUDA where the LibTorch build has it. The conventions are
// torchrun's: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and
// LOCAL_WORLD_SIZE, the processes on this machine).
//
// Every collective throws vae::Error with one line when a peer has gone away
// (connection closed) or stays silent past the timeout, so that a dead or
// hung rank stops the others instead of leaving them waiting for ever.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vae {

struct DistributedOptions {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  int64_t local_world_size = 1;  // processes on this machine (thread budget)
  int64_t local_rank = 0;        // place on this machine (its GPU with CUDA)
  double timeout_s = 300.0;      // rendezvous and every collective

  bool enabled() const { return world_size > 1; }
  // Throws vae::Error for a rank outside [0, world size), a port outside
  // 1..65535, a non-positive timeout.
  void validate() const;
};

// Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_WORLD_SIZE and
// LOCAL_RANK from the
// environment (unset: the defaults above). A value that is not a number
// throws vae::Error naming the variable.
DistributedOptions distributed_options_from_environment();

// True when this build has a process group for `device` (Gloo for the CPU,
// NCCL for CUDA).
bool distributed_available(torch::Device device);

// The rows [begin, begin + count) of a global batch of n that a rank takes:
// near-equal contiguous slices, the first n % world ranks one row longer.
struct Shard {
  int64_t begin = 0;
  int64_t count = 0;
};
Shard shard_of(int64_t n, int64_t rank, int64_t world_size);

enum class ReduceOp { kSum, kMax };

class Communicator {
 public:
  virtual ~Communicator() = default;

  // Joins the rendezvous and builds the process group for `device`. Throws
  // vae::Error when the store cannot be reached (or, on rank 0, not every
  // rank arrives) within the timeout, or the build lacks a backend.
  static std::unique_ptr<Communicator> connect(const DistributedOptions& options,
                                               torch::Device device);

  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  const std::string& backend() const { return backend_; }
  // Where the tensors of collectives must live (the CPU for Gloo).
  torch::Device device() const { return device_; }

  // In place, on every rank. The tensors must be contiguous and on the
  // group's device; several tensors are reduced as one call each.
  virtual void all_reduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) = 0;
  virtual void broadcast(torch::Tensor& tensor, int64_t root = 0) = 0;
  virtual void barrier() = 0;

  // Launches a sum all-reduce and returns without waiting; wait() ends every
  // pending one, in order.
  virtual void all_reduce_async(torch::Tensor& tensor) = 0;
  virtual void wait() = 0;

  // `text` from `root` on every rank (its length first, then the bytes).
  std::string broadcast_string(const std::string& text, int64_t root = 0);

 protected:
  Communicator(int64_t rank, int64_t world_size, std::string backend, torch::Device device)
      : rank_(rank), world_size_(world_size), backend_(std::move(backend)), device_(device) {}

 private:
  int64_t rank_;
  int64_t world_size_;
  std::string backend_;
  torch::Device device_;
};

// Copies root's values of `tensors` (parameters, buffers) into every rank's.
void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors,
                       int64_t root = 0);

// Whether every rank holds the same values: compares a checksum of the
// tensors across ranks (max and min of each rank's sum and sum of squares).
bool tensors_agree(Communicator& comm, const std::vector<torch::Tensor>& tensors);

}  // namespace vae
