#include "vae/runtime/distributed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using Clock = std::chrono::steady_clock;

// Runs body(comm) for every rank of a fresh `world`-rank Gloo group, one
// thread per rank, on a free loopback port. Returns each rank's error
// message ("" when it finished).
std::vector<std::string> run_group(int64_t world, const std::function<void(Communicator&)>& body,
                                   double timeout_s = 30.0) {
  DistributedOptions options;
  options.world_size = world;
  options.master_port = testing::free_port();
  options.timeout_s = timeout_s;
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      DistributedOptions mine = options;
      mine.rank = r;
      try {
        std::unique_ptr<Communicator> comm = Communicator::connect(mine, torch::kCPU);
        body(*comm);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  return errors;
}

void expect_no_errors(const std::vector<std::string>& errors) {
  for (size_t r = 0; r < errors.size(); ++r)
    EXPECT_EQ(errors[r], "") << "rank " << r;
}

TEST(Distributed, ShardsCoverTheBatchOnceInOrder) {
  for (int64_t n : {1, 7, 64, 105, 128}) {
    for (int64_t world : {1, 2, 3, 4}) {
      int64_t next = 0, smallest = n, largest = 0;
      for (int64_t r = 0; r < world; ++r) {
        const Shard s = shard_of(n, r, world);
        EXPECT_EQ(s.begin, next) << n << " " << world << " " << r;
        next += s.count;
        smallest = std::min(smallest, s.count);
        largest = std::max(largest, s.count);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  EXPECT_EQ(shard_of(105, 0, 2).count, 53);
  EXPECT_EQ(shard_of(105, 1, 2).begin, 53);
}

TEST(Distributed, OptionsComeFromTheTorchrunVariables) {
  setenv("RANK", "1", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("MASTER_ADDR", "10.0.0.7", 1);
  setenv("MASTER_PORT", "29999", 1);
  setenv("LOCAL_WORLD_SIZE", "2", 1);
  const DistributedOptions options = distributed_options_from_environment();
  EXPECT_EQ(options.rank, 1);
  EXPECT_EQ(options.world_size, 4);
  EXPECT_EQ(options.master_addr, "10.0.0.7");
  EXPECT_EQ(options.master_port, 29999);
  EXPECT_EQ(options.local_world_size, 2);
  EXPECT_TRUE(options.enabled());
  setenv("RANK", "one", 1);
  EXPECT_EQ(testing::error_of([] { distributed_options_from_environment(); }),
            "environment variable RANK='one' is not an integer");
  for (const char* name : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE"})
    unsetenv(name);
  const DistributedOptions defaults = distributed_options_from_environment();
  EXPECT_EQ(defaults.world_size, 1);
  EXPECT_FALSE(defaults.enabled());
}

TEST(Distributed, BadOptionsAreRefused) {
  DistributedOptions options;
  options.world_size = 2;
  options.rank = 2;
  EXPECT_EQ(testing::error_of([&] { options.validate(); }), "the rank must be in [0, 2), not 2");
  options.rank = 0;
  options.master_port = 70000;
  EXPECT_EQ(testing::error_of([&] { options.validate(); }),
            "the master port must be in 1..65535, not 70000");
  options.master_port = 29500;
  options.world_size = 0;
  EXPECT_NE(testing::error_of([&] { options.validate(); }), "");
}

TEST(Distributed, CollectivesCombineTheRanksValues) {
  ASSERT_TRUE(distributed_available(torch::kCPU));
  expect_no_errors(run_group(3, [](Communicator& comm) {
    const double r = static_cast<double>(comm.rank());
    EXPECT_EQ(comm.world_size(), 3);
    EXPECT_EQ(comm.backend(), "gloo");

    torch::Tensor sum = torch::tensor({1.0 + r, 10.0 * r}, torch::kFloat32);
    comm.all_reduce(sum);
    EXPECT_EQ(sum[0].item<float>(), 6.0f);
    EXPECT_EQ(sum[1].item<float>(), 30.0f);

    torch::Tensor largest = torch::tensor({r, -r}, torch::kFloat64);
    comm.all_reduce(largest, ReduceOp::kMax);
    EXPECT_EQ(largest[0].item<double>(), 2.0);
    EXPECT_EQ(largest[1].item<double>(), 0.0);

    torch::Tensor from_one = torch::full({4}, r);
    comm.broadcast(from_one, 1);
    EXPECT_TRUE(from_one.equal(torch::full({4}, 1.0)));

    const std::string big(100000, static_cast<char>('a' + comm.rank()));
    EXPECT_EQ(comm.broadcast_string(big, 2), std::string(100000, 'c'));
    EXPECT_EQ(comm.broadcast_string(comm.rank() == 0 ? "" : "ignored"), "");
  }));
}

TEST(Distributed, BroadcastTensorsAndAgreement) {
  expect_no_errors(run_group(2, [](Communicator& comm) {
    // Private generators: the ranks are threads of one process.
    const auto draw = [](uint64_t seed) {
      auto g = at::detail::createCPUGenerator(seed);
      return std::vector<torch::Tensor>{at::randn({3, 4}, g), at::randn({5}, g),
                                        at::randn({4, 3}, g).t()};  // not contiguous
    };
    std::vector<torch::Tensor> params = draw(100 + static_cast<uint64_t>(comm.rank()));
    EXPECT_FALSE(tensors_agree(comm, params));
    broadcast_tensors(comm, params);
    EXPECT_TRUE(tensors_agree(comm, params));
    const std::vector<torch::Tensor> root = draw(100);
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(params[i].equal(root[i])) << i;
    // One value changed on one rank, by a single rounding step.
    if (comm.rank() == 1) {
      params[1][0] = std::nextafter(params[1][0].item<float>(), 1e9f);
    }
    EXPECT_FALSE(tensors_agree(comm, params));
  }));
}

TEST(Distributed, ADeadPeerStopsTheOthersWithAnError) {
  std::atomic<double> seconds{0.0};
  const std::vector<std::string> errors = run_group(
      2,
      [&](Communicator& comm) {
        comm.barrier();
        if (comm.rank() == 1) return;  // leaves: its group closes its connections
        const auto start = Clock::now();
        torch::Tensor t = torch::ones({1000});
        try {
          for (int i = 0; i < 100; ++i)
            comm.all_reduce(t);
        } catch (...) {
          seconds = std::chrono::duration<double>(Clock::now() - start).count();
          throw;
        }
      },
      /*timeout_s=*/20.0);
  EXPECT_EQ(errors[1], "");
  EXPECT_NE(errors[0].find("rank 0 of 2: the all-reduce failed"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("another rank stopped or cannot be reached"), std::string::npos);
  EXPECT_LT(seconds.load(), 15.0);  // noticed, not waited out
}

TEST(Distributed, AnUnreachableStoreTimesOutWithAnError) {
  DistributedOptions options;
  options.world_size = 2;
  options.rank = 1;
  options.master_port = testing::free_port();  // nobody listens
  options.timeout_s = 1.0;
  const auto start = Clock::now();
  const std::string error = testing::error_of([&] { Communicator::connect(options, torch::kCPU); });
  EXPECT_NE(error.find("rank 1 of 2: cannot reach the rendezvous store at 127.0.0.1:" +
                       std::to_string(options.master_port) + " within 1 s"),
            std::string::npos)
      << error;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 20.0);

  // Rank 0 waits for the others as long, then says so.
  options.rank = 0;
  const std::string lonely =
      testing::error_of([&] { Communicator::connect(options, torch::kCPU); });
  EXPECT_NE(lonely.find("rank 0 of 2: the process group did not form within 1 s"),
            std::string::npos)
      << lonely;
  EXPECT_NE(lonely.find("did all 2 ranks start with the same MASTER_ADDR and MASTER_PORT?"),
            std::string::npos)
      << lonely;
}

}  // namespace
}  // namespace vae
