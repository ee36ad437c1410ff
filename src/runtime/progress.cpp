#include "vae/runtime/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace vae {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool is_terminal(int fd) {
  return ::isatty(fd) == 1;
}

Progress::Progress(std::ostream& out, bool terminal, std::string label, int64_t steps,
                   int64_t interval)
    : out_(out),
      terminal_(terminal),
      label_(std::move(label)),
      steps_(steps),
      interval_(interval > 0 ? interval : 1),
      start_(Clock::now()),
      last_draw_(start_) {}

bool Progress::due(int64_t done) const {
  if (done >= steps_) return terminal_;
  if (terminal_) return Clock::now() - last_draw_ > std::chrono::milliseconds(200);
  return done % interval_ == 0;
}

void Progress::update(int64_t done, int64_t global_step, double loss, int64_t images) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0.0 ? static_cast<double>(images) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * static_cast<double>(steps_ - done) / done : 0.0;
  char text[256];
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * done / (steps_ > 0 ? steps_ : 1));
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
    std::snprintf(text, sizeof(text), "\r%s [%s] %lld/%lld  %s %.2f  %.0f img/s  ETA %.0fs \x1b[K",
                  label_.c_str(), bar.c_str(), static_cast<long long>(done),
                  static_cast<long long>(steps_), value_name_.c_str(), loss, rate, eta);
    out_ << text << std::flush;
    drawn_ = true;
    last_draw_ = Clock::now();
  } else {
    std::snprintf(text, sizeof(text),
                  "%s step %lld/%lld (global %lld)  %s %.3f  %.0f img/s  ETA %.0fs", label_.c_str(),
                  static_cast<long long>(done), static_cast<long long>(steps_),
                  static_cast<long long>(global_step), value_name_.c_str(), loss, rate, eta);
    out_ << text << '\n' << std::flush;
  }
}

void Progress::finish() {
  if (terminal_ && drawn_) out_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

}  // namespace vae
