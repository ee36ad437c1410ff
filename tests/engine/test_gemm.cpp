#include "vae/engine/gemm.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

#include "test_support.h"

namespace vae {
namespace {

// a b computed in double: the reference the float products are held to.
torch::Tensor reference(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64)).to(torch::kFloat32);
}

TEST(Gemm, EveryLayoutTheTrainingStepUses) {
  torch::manual_seed(1);
  // The step's three products of a linear layer with weight w [out, in]:
  // forward u w^T, weight gradient d^T u, input gradient d w; plus column
  // blocks of each operand, as one thread's share.
  const torch::Tensor u = torch::randn({37, 53}), w = torch::randn({29, 53});
  const torch::Tensor d = torch::randn({37, 29});
  struct Product {
    const char* name;
    torch::Tensor a, b;
  };
  const std::vector<Product> products = {
      {"u w^T", u, w.t()},
      {"d^T u", d.t(), u},
      {"d w", d, w},
      {"u w[5:19]^T", u, w.narrow(0, 5, 14).t()},
      {"d[:, 3:20]^T u", d.narrow(1, 3, 17).t(), u},
      {"d[4:30] w", d.narrow(0, 4, 26), w},
      {"one row", u.narrow(0, 2, 1), w.t()},
      {"one column", u, w.narrow(0, 7, 1).t()},
  };
  for (GemmBackend backend : testing::gemm_backends()) {
    for (const Product& p : products) {
      SCOPED_TRACE(to_string(backend) + ": " + p.name);
      const torch::Tensor out = torch::empty({p.a.size(0), p.b.size(1)});
      gemm_out(backend, out, p.a, p.b);
      EXPECT_LT(testing::relative_diff(out, reference(p.a, p.b)), 1e-5);
    }
  }
}

TEST(Gemm, AlphaScalesAndBetaAccumulates) {
  torch::manual_seed(2);
  const torch::Tensor a = torch::randn({16, 24}), b = torch::randn({24, 12});
  const torch::Tensor c = torch::randn({16, 12});
  for (GemmBackend backend : testing::gemm_backends()) {
    SCOPED_TRACE(to_string(backend));
    torch::Tensor out = c.clone();
    gemm_out(backend, out, a, b, 0.25f, 2.0f);
    EXPECT_LT(testing::relative_diff(out, 0.25 * reference(a, b) + 2.0 * c), 1e-5);
    // beta = 0 ignores what the output held, NaN included.
    out.fill_(std::numeric_limits<float>::quiet_NaN());
    gemm_out(backend, out, a, b, 3.0f);
    EXPECT_TRUE(out.isfinite().all().item<bool>());
    EXPECT_LT(testing::relative_diff(out, 3.0 * reference(a, b)), 1e-5);
  }
}

TEST(Gemm, RawStorageInEveryTranspositionAndLeadingDimension) {
  // Operands stored with row strides wider than their rows (padding after
  // each row), read as they are or transposed; the output a block of a
  // wider buffer whose other columns keep their values.
  torch::manual_seed(5);
  const int64_t m = 7, n = 9, k = 11, pad = 3;
  const torch::Tensor a = torch::randn({m, k}), b = torch::randn({k, n}), c = torch::randn({m, n});
  // The storage of x (trans 'N') or of x^T ('T'), with `pad` columns more.
  const auto stored = [&](const torch::Tensor& x, char trans) {
    const torch::Tensor body = trans == 'N' ? x : x.t();
    torch::Tensor buffer = torch::full({body.size(0), body.size(1) + pad}, 99.0f);
    buffer.narrow(1, 0, body.size(1)).copy_(body);
    return buffer;
  };
  for (GemmBackend backend : testing::gemm_backends()) {
    for (char ta : {'N', 'T'}) {
      for (char tb : {'N', 'T'}) {
        SCOPED_TRACE(to_string(backend) + ": " + ta + tb);
        const torch::Tensor sa = stored(a, ta), sb = stored(b, tb);
        torch::Tensor out = torch::full({m, n + pad}, 7.0f);
        out.narrow(1, 0, n).copy_(c);
        gemm_raw(backend, ta, tb, m, n, k, 0.5f, sa.data_ptr<float>(), sa.size(1),
                 sb.data_ptr<float>(), sb.size(1), 2.0f, out.data_ptr<float>(), out.size(1));
        EXPECT_LT(testing::relative_diff(out.narrow(1, 0, n), 0.5 * reference(a, b) + 2.0 * c),
                  1e-5);
        EXPECT_TRUE(torch::equal(out.narrow(1, n, pad), torch::full({m, pad}, 7.0f)));
      }
    }
    EXPECT_NE(testing::error_of([&] {
                float x = 0.0f;
                gemm_raw(backend, 'C', 'N', 1, 1, 1, 1.0f, &x, 1, &x, 1, 0.0f, &x, 1);
              }).find("'N' or 'T'"),
              std::string::npos);
  }
}

TEST(Gemm, WritesOnlyTheOutputView) {
  // A block of columns of a wider buffer: the columns beside it keep their values.
  torch::manual_seed(3);
  const torch::Tensor a = torch::randn({10, 8}), b = torch::randn({8, 6});
  for (GemmBackend backend : testing::gemm_backends()) {
    SCOPED_TRACE(to_string(backend));
    const torch::Tensor buffer = torch::full({10, 20}, 7.0);
    gemm_out(backend, buffer.narrow(1, 9, 6), a, b);
    EXPECT_LT(testing::relative_diff(buffer.narrow(1, 9, 6), reference(a, b)), 1e-5);
    EXPECT_TRUE(buffer.narrow(1, 0, 9).eq(7.0).all().item<bool>());
    EXPECT_TRUE(buffer.narrow(1, 15, 5).eq(7.0).all().item<bool>());
  }
}

TEST(Gemm, BlocksOnParallelThreadsEqualOneProduct) {
  // The training step calls gemm_out from every thread of a parallel region
  // on its own block of columns; together they must equal the whole product.
  torch::manual_seed(4);
  const torch::Tensor a = torch::randn({64, 96}), b = torch::randn({96, 75});
  const testing::ScopedThreads three(3);
  for (GemmBackend backend : testing::gemm_backends()) {
    SCOPED_TRACE(to_string(backend));
    const torch::Tensor whole = torch::empty({64, 75}), blocks = torch::empty({64, 75});
    gemm_out(backend, whole, a, b);
    std::vector<int> ran(3, 0);
    at::parallel_for(0, 3, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        ran[t] = at::get_thread_num() + 1;
        gemm_out(backend, blocks.narrow(1, 25 * t, 25), a, b.narrow(1, 25 * t, 25));
      }
    });
    EXPECT_EQ(std::count(ran.begin(), ran.end(), 0), 0);
    EXPECT_LT(testing::relative_diff(blocks, whole), 1e-6);
  }
}

TEST(Gemm, ParallelForRunsOnSeveralThreads) {
  // at::parallel_for is a header template: without -fopenmp it runs the
  // whole range on the calling thread (a build mistake that once halved the
  // training step's speed without changing a number).
  std::vector<int64_t> thread_of(2, -1);
  {
    const testing::ScopedThreads two(2);
    at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        thread_of[i] = at::get_thread_num();
    });
  }
  EXPECT_NE(thread_of[0], thread_of[1]);
}

// A handler that uses some stack, as a real one (printing, say) would.
std::atomic<int64_t> handled{0};
void busy_handler(int) {
  volatile char scratch[2048];
  for (size_t i = 0; i < sizeof(scratch); i += 64)
    scratch[i] = 1;
  handled.fetch_add(1);
}

TEST(Gemm, ProductsSurviveSignalsThatArriveDuringThem) {
  // oneDNN's AVX-512 kernel points the stack pointer into the heap while it
  // runs; a signal frame pushed there corrupts memory (here: a segfault or
  // wrong results within a few thousand signals). gemm_out gives the thread
  // an alternate signal stack, which handlers installed with SA_ONSTACK (as
  // the trainer's are) use instead.
  struct sigaction action {
  }, previous{};
  action.sa_handler = busy_handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_ONSTACK;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({128, 784}), w = torch::randn({400, 784});
  const torch::Tensor d = torch::randn({128, 400});
  for (GemmBackend backend : testing::gemm_backends()) {
    SCOPED_TRACE(to_string(backend));
    const torch::Tensor y0 = torch::mm(x, w.t()), g0 = torch::mm(d.t(), x);
    const torch::Tensor y = torch::empty_like(y0), g = torch::empty_like(g0);
    const pthread_t self = pthread_self();
    std::atomic<bool> done{false};
    handled = 0;
    std::thread sender([&] {
      while (!done) {
        pthread_kill(self, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
    int64_t differ = 0;
    for (int i = 0; i < 200; ++i) {
      gemm_out(backend, y, x, w.t());
      gemm_out(backend, g, d.t(), x);
      // Up to rounding (OpenBLAS splits its first call differently), where
      // a corrupted product is garbage or a crash.
      differ += !torch::allclose(y, y0, 1e-4, 1e-3) || !torch::allclose(g, g0, 1e-4, 1e-3);
    }
    done = true;
    sender.join();
    EXPECT_GT(handled.load(), 50);
    EXPECT_EQ(differ, 0);
  }
  sigaction(SIGUSR1, &previous, nullptr);
}

TEST(Gemm, RejectsShapesThatDoNotFit) {
  const torch::Tensor a = torch::randn({4, 5}), b = torch::randn({6, 3});
  for (GemmBackend backend : testing::gemm_backends()) {
    EXPECT_NE(testing::error_of([&] {
                gemm_out(backend, torch::empty({4, 3}), a, b);
              }).find("shapes 4x5 times 6x3"),
              std::string::npos);
    // An output stored column by column cannot be written row by row.
    EXPECT_NE(testing::error_of([&] {
                gemm_out(backend, torch::empty({3, 4}).t(), a, torch::randn({5, 3}));
              }),
              "");
    // Neither rows nor columns contiguous.
    const torch::Tensor strided = torch::randn({8, 10}).slice(0, 0, 8, 2).slice(1, 0, 10, 2);
    EXPECT_NE(testing::error_of([&] {
                gemm_out(backend, torch::empty({4, 3}), strided, torch::randn({5, 3}));
              }).find("contiguous"),
              std::string::npos);
    EXPECT_NE(
        testing::error_of([&] {
          gemm_out(backend, torch::empty({4, 3}), a.to(torch::kFloat64), torch::randn({5, 3}));
        }).find("float32"),
        std::string::npos);
  }
}

TEST(Gemm, ParsesBackendNames) {
  EXPECT_EQ(parse_gemm("libtorch"), GemmBackend::kLibTorch);
  EXPECT_EQ(parse_gemm("auto"), onednn_available() ? GemmBackend::kOneDnn : GemmBackend::kLibTorch);
  if (onednn_available()) {
    EXPECT_EQ(parse_gemm("onednn"), GemmBackend::kOneDnn);
    EXPECT_NE(describe_gemm(GemmBackend::kOneDnn).find("oneDNN"), std::string::npos);
  } else {
    EXPECT_NE(testing::error_of([] { parse_gemm("onednn"); }).find("libdnnl-dev"),
              std::string::npos);
  }
  EXPECT_EQ(describe_gemm(GemmBackend::kLibTorch), "LibTorch's BLAS");
  EXPECT_NE(testing::error_of([] {
              parse_gemm("mkl");
            }).find("--gemm must be auto, onednn or libtorch, not 'mkl'"),
            std::string::npos);
}

}  // namespace
}  // namespace vae
