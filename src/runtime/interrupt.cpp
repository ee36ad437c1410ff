#include "vae/runtime/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>

namespace vae {
namespace {

std::atomic<int> received{0};
struct sigaction previous_int, previous_term;

void on_signal(int sig) {
  int expected = 0;
  if (received.compare_exchange_strong(expected, sig)) return;
  // The second signal: no checkpoint, leave now (async-signal-safe calls only).
  static const char kMessage[] = "\nvae: second interrupt, exiting without a checkpoint\n";
  const ssize_t ignored = ::write(2, kMessage, sizeof(kMessage) - 1);
  (void)ignored;
  ::_exit(128 + sig);
}

// One thread's alternate stack: installed unless the thread has one already
// (AddressSanitizer gives every thread its own, and unmaps it at thread exit:
// replacing it breaks that), switched off before its memory goes.
class AlternateStack {
 public:
  AlternateStack() {
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
    memory_ = std::make_unique<char[]>(kSize);
    stack_t mine{};
    mine.ss_sp = memory_.get();
    mine.ss_size = kSize;
    if (sigaltstack(&mine, nullptr) != 0) memory_.reset();
  }
  ~AlternateStack() {
    if (!memory_) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
  }
  AlternateStack(const AlternateStack&) = delete;
  AlternateStack& operator=(const AlternateStack&) = delete;

 private:
  static constexpr size_t kSize = 64 * 1024;  // ample for the handler above
  std::unique_ptr<char[]> memory_;
};

}  // namespace

void use_alternate_signal_stack() {
  thread_local AlternateStack stack;  // constructed on the thread's first call
}

InterruptGuard::InterruptGuard() {
  received = 0;
  use_alternate_signal_stack();
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // Blocking calls (file writes, collectives) resume after the handler,
  // which runs on the thread's alternate stack where it has one.
  action.sa_flags = SA_RESTART | SA_ONSTACK;
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

int InterruptGuard::signal() const {
  return received.load();
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

}  // namespace vae
