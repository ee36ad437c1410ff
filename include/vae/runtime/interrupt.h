// Ctrl-C and SIGTERM during training: the first signal asks the trainer to
// stop after the current step (it then writes a checkpoint and says how to
// resume); a second one ends the process at once.
#pragma once

#include <string>

#include "vae/runtime/error.h"

namespace vae {

// Installs the SIGINT and SIGTERM handlers for its lifetime (the previous
// handlers come back in the destructor). One guard at a time. The handlers
// run on an alternate signal stack (see below); the constructing thread
// gets one.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // The signal received (SIGINT or SIGTERM), or 0.
  int signal() const;
  bool requested() const { return signal() != 0; }
};

// Gives the calling thread an alternate signal stack, once per thread (later
// calls return at once). Why: oneDNN's AVX-512 sgemm kernel points the stack
// pointer into a heap buffer while it runs (oneDNN issue #4845), so a signal
// frame pushed there corrupts the heap; here a Ctrl-C during training
// aborted with "corrupted size vs. prev_size" in 6 of 8 tries. gemm_out
// calls this before every oneDNN product, and the handlers above ask for
// the alternate stack.
void use_alternate_signal_stack();

// "SIGINT", "SIGTERM", or "signal N".
std::string signal_name(int signal);

// Thrown by the trainer after it stopped on a signal and saved the run; the
// command line prints the message and exits with 128 + signal.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

}  // namespace vae
