#include "vae/training/gradient_reducer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "test_support.h"

namespace vae {
namespace {

// Each rank r holds parameters whose gradients are (r + 1) * base, except the
// middle one, which has a gradient on rank 1 only.
void check_reducer(int64_t bucket_bytes, int64_t expected_buckets) {
  DistributedOptions options;
  options.world_size = 2;
  options.master_port = testing::free_port();
  options.timeout_s = 30.0;
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int64_t rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        DistributedOptions mine = options;
        mine.rank = rank;
        auto comm = Communicator::connect(mine, torch::kCPU);
        std::vector<torch::Tensor> params = {torch::zeros({3, 5}, torch::requires_grad()),
                                             torch::zeros({7}, torch::requires_grad()),
                                             torch::zeros({2, 2}, torch::requires_grad())};
        const double scale = static_cast<double>(rank + 1);
        params[0].mutable_grad() = torch::arange(15, torch::kFloat32).view({3, 5}) * scale;
        if (rank == 1) params[1].mutable_grad() = torch::full({7}, 0.5f);
        params[2].mutable_grad() = torch::full({2, 2}, -1.0f) * scale;

        GradientReducer reducer(*comm, params, bucket_bytes);
        EXPECT_EQ(reducer.buckets(), expected_buckets);
        torch::Tensor extras = torch::tensor({1.0f + static_cast<float>(rank), 2.0f});
        reducer.all_reduce(extras);
        EXPECT_TRUE(params[0].grad().equal(torch::arange(15, torch::kFloat32).view({3, 5}) * 3));
        ASSERT_TRUE(params[1].grad().defined());
        EXPECT_TRUE(params[1].grad().equal(torch::full({7}, 0.5f)));
        EXPECT_TRUE(params[2].grad().equal(torch::full({2, 2}, -3.0f)));
        EXPECT_TRUE(extras.equal(torch::tensor({3.0f, 4.0f})));
        EXPECT_EQ(reducer.calls(), 1);
        EXPECT_GT(reducer.seconds(), 0.0);

        // A second round reuses the buckets and sums again.
        for (auto& p : params)
          p.mutable_grad().fill_(scale);
        torch::Tensor none;
        reducer.all_reduce(none);
        for (auto& p : params)
          EXPECT_TRUE(p.grad().equal(torch::full_like(p, 3.0)));
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(rank)] = e.what();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

TEST(GradientReducer, SumsGradientsAndExtrasInOneBucket) {
  check_reducer(int64_t{25} << 20, 1);
}

TEST(GradientReducer, SumsGradientsAcrossSeveralBuckets) {
  // 60 + 28 + 16 bytes with a 64-byte cap: [p0], [p1, p2].
  check_reducer(64, 2);
}

}  // namespace
}  // namespace vae
