#include "vae/interrupt.h"

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

}  // namespace

void use_alternate_signal_stack() {
  // Freed when the thread ends, after its last signal.
  thread_local std::unique_ptr<char[]> stack;
  if (stack) return;
  constexpr size_t kSize = 64 * 1024;  // ample for the handler above
  stack = std::make_unique<char[]>(kSize);
  stack_t alternate{};
  alternate.ss_sp = stack.get();
  alternate.ss_size = kSize;
  sigaltstack(&alternate, nullptr);
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
