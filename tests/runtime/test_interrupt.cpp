#include "vae/runtime/interrupt.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <csignal>
#include <thread>

namespace vae {
namespace {

int custom_calls = 0;
void custom_handler(int) {
  ++custom_calls;
}

TEST(Interrupt, FirstSignalIsRecordedAndHandlersComeBack) {
  std::signal(SIGINT, custom_handler);
  {
    InterruptGuard guard;
    EXPECT_FALSE(guard.requested());
    std::raise(SIGTERM);
    EXPECT_TRUE(guard.requested());
    EXPECT_EQ(guard.signal(), SIGTERM);
  }
  {
    InterruptGuard fresh;  // a new guard starts clear
    EXPECT_FALSE(fresh.requested());
    std::raise(SIGINT);
    EXPECT_EQ(fresh.signal(), SIGINT);
  }
  std::raise(SIGINT);  // the handler from before the guards
  EXPECT_EQ(custom_calls, 1);
  std::signal(SIGINT, SIG_DFL);
  struct sigaction term;
  sigaction(SIGTERM, nullptr, &term);
  EXPECT_EQ(term.sa_handler, SIG_DFL);
}

TEST(Interrupt, HandlersRunOnAnAlternateStackOfEachThread) {
  {
    InterruptGuard guard;
    struct sigaction action;
    sigaction(SIGINT, nullptr, &action);
    EXPECT_TRUE(action.sa_flags & SA_ONSTACK);
    sigaction(SIGTERM, nullptr, &action);
    EXPECT_TRUE(action.sa_flags & SA_ONSTACK);
    stack_t mine{};
    sigaltstack(nullptr, &mine);
    EXPECT_FALSE(mine.ss_flags & SS_DISABLE);
    EXPECT_GE(mine.ss_size, static_cast<size_t>(MINSIGSTKSZ));
    // Another thread gets its own once it asks (or keeps the one it had:
    // AddressSanitizer gives each thread one); asking again changes nothing.
    std::thread([&] {
      stack_t before{}, other{}, again{};
      sigaltstack(nullptr, &before);
      use_alternate_signal_stack();
      sigaltstack(nullptr, &other);
      EXPECT_FALSE(other.ss_flags & SS_DISABLE);
      EXPECT_NE(other.ss_sp, mine.ss_sp);
      if (!(before.ss_flags & SS_DISABLE)) {
        EXPECT_EQ(other.ss_sp, before.ss_sp);
      }
      use_alternate_signal_stack();
      sigaltstack(nullptr, &again);
      EXPECT_EQ(again.ss_sp, other.ss_sp);
    }).join();
  }
}

TEST(Interrupt, SignalNames) {
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGHUP), "signal " + std::to_string(SIGHUP));
}

TEST(InterruptDeathTest, ASecondSignalExitsAtOnce) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        InterruptGuard guard;
        std::raise(SIGINT);
        std::raise(SIGINT);
        std::exit(0);  // not reached
      },
      ::testing::ExitedWithCode(128 + SIGINT), "second interrupt, exiting without a checkpoint");
}

}  // namespace
}  // namespace vae
