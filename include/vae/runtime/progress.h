// Training progress: a one-line bar redrawn in place on a terminal, plain
// periodic lines otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

namespace vae {

class Progress {
 public:
  // `label` starts each line ("epoch 3/10"); `interval`: steps between plain
  // lines when not on a terminal.
  Progress(std::ostream& out, bool terminal, std::string label, int64_t steps, int64_t interval);

  // Whether update() would print after `done` steps of this epoch. Callers
  // only fetch the loss from the device (a synchronisation) when it would.
  bool due(int64_t done) const;
  void update(int64_t done, int64_t global_step, double loss, int64_t images);
  // Ends the bar's line on a terminal.
  void finish();
  // What update()'s value is called in the line ("loss" unless set).
  void set_value_name(std::string name) { value_name_ = std::move(name); }

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool terminal_;
  std::string label_;
  std::string value_name_ = "loss";
  int64_t steps_, interval_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  bool drawn_ = false;
};

// Seconds of the steady clock since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

// True when the file descriptor is a terminal.
bool is_terminal(int fd);

}  // namespace vae
