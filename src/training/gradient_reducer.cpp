#include "vae/training/gradient_reducer.h"

#include <torch/torch.h>

#include <chrono>

#include "vae/runtime/error.h"

namespace vae {

GradientReducer::GradientReducer(Communicator& comm, std::vector<torch::Tensor> parameters,
                                 int64_t bucket_bytes)
    : comm_(comm), parameters_(std::move(parameters)) {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const torch::Tensor& p = parameters_[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (buckets_.empty() ||
        (buckets_.back().numel * static_cast<int64_t>(p.element_size()) + bytes > bucket_bytes &&
         !buckets_.back().params.empty())) {
      buckets_.emplace_back();
    }
    if (p.scalar_type() != parameters_.front().scalar_type()) {
      throw Error("internal: GradientReducer expects parameters of one type");
    }
    buckets_.back().params.push_back(i);
    buckets_.back().numel += p.numel();
  }
  if (buckets_.empty()) buckets_.emplace_back();
}

void GradientReducer::all_reduce(torch::Tensor& extras) {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  const torch::TensorOptions options =
      parameters_.empty() ? torch::TensorOptions(comm_.device()).dtype(torch::kFloat32)
                          : parameters_.front().options();
  const int64_t n_extras = extras.defined() ? extras.numel() : 0;
  if (n_extras != extras_capacity_ || !buckets_.front().flat.defined()) {
    extras_capacity_ = n_extras;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      const int64_t size = buckets_[b].numel + (b + 1 == buckets_.size() ? n_extras : 0);
      buckets_[b].flat = torch::empty({std::max<int64_t>(size, 1)}, options);
    }
  }
  // Pack, launch every bucket, then wait for all of them.
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& bucket = buckets_[b];
    int64_t offset = 0;
    for (size_t i : bucket.params) {
      const torch::Tensor& p = parameters_[i];
      torch::Tensor slot = bucket.flat.narrow(0, offset, p.numel());
      if (p.grad().defined()) {
        slot.copy_(p.grad().reshape({-1}));
      } else {
        slot.zero_();
      }
      offset += p.numel();
    }
    if (b + 1 == buckets_.size() && n_extras > 0) {
      bucket.flat.narrow(0, offset, n_extras).copy_(extras.reshape({-1}));
    }
    comm_.all_reduce_async(bucket.flat);
  }
  comm_.wait();
  // Unpack.
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& bucket = buckets_[b];
    int64_t offset = 0;
    for (size_t i : bucket.params) {
      torch::Tensor& p = parameters_[i];
      const torch::Tensor slot = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(slot);
      } else {
        p.mutable_grad() = slot.clone();
      }
      offset += p.numel();
    }
    if (b + 1 == buckets_.size() && n_extras > 0) {
      extras.copy_(bucket.flat.narrow(0, offset, n_extras).view(extras.sizes()));
    }
  }
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++calls_;
}

double GradientReducer::idle_all_reduce_ms(int rounds) {
  const double seconds = seconds_;
  const int64_t calls = calls_;
  for (torch::Tensor& p : parameters_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  torch::Tensor none;
  all_reduce(none);  // warm-up: allocates the buckets, connects the algorithm
  comm_.barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i)
    all_reduce(none);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  seconds_ = seconds;
  calls_ = calls;
  return 1000.0 * elapsed / std::max(rounds, 1);
}

int64_t GradientReducer::bytes() const {
  int64_t total = 0;
  for (const torch::Tensor& p : parameters_)
    total += p.numel() * static_cast<int64_t>(p.element_size());
  return total;
}

}  // namespace vae
