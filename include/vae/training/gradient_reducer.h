// The gradient all-reduce of data-parallel training (what PyTorch's
// DistributedDataParallel does after backward): every parameter's gradient is
// copied into a few flat buckets, each bucket is summed over the ranks with
// one all-reduce (all are launched before the first is awaited, so the
// process group works on them together), and the sums are copied back.
//
// The trainer scales each rank's loss by its share of the global batch
// (rows / global batch), so the sum of the ranks' gradients is exactly the
// gradient of the global batch's mean loss: the average of the ranks'
// per-shard mean gradients when the shards are equal, and still exact when
// they are not (the last batch of an epoch).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "vae/runtime/distributed.h"

namespace vae {

class GradientReducer {
 public:
  // Buckets of at most `bucket_bytes` (a parameter larger than that gets a
  // bucket of its own), in parameter order. The default is DDP's 25 MB: one
  // all-reduce of the default MLP's gradients was faster than several
  // smaller ones with Gloo on loopback (docs/performance.md).
  GradientReducer(Communicator& comm, std::vector<torch::Tensor> parameters,
                  int64_t bucket_bytes = int64_t{25} << 20);

  // Sums the gradients over the ranks in place; a parameter without a
  // gradient counts as zeros. `extras` (1-D float, e.g. the step's loss
  // terms) rides in the last bucket and is summed too.
  void all_reduce(torch::Tensor& extras);

  // Milliseconds per all-reduce of the buckets when no rank is busy: a
  // barrier, then `rounds` all-reduces of zeros (the gradients are left
  // zero). Not counted in seconds()/calls().
  double idle_all_reduce_ms(int rounds);

  // Bytes of gradient sent through all_reduce each step.
  int64_t bytes() const;

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Wall time spent in all_reduce (copies included) and the number of calls.
  double seconds() const { return seconds_; }
  int64_t calls() const { return calls_; }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into parameters_
    int64_t numel = 0;
    torch::Tensor flat;
  };
  Communicator& comm_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Bucket> buckets_;
  int64_t extras_capacity_ = 0;
  double seconds_ = 0.0;
  int64_t calls_ = 0;
};

}  // namespace vae
