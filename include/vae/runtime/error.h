// One exception type for every user-facing failure: bad flags, bad files,
// bad checkpoints. The CLI prints its message as a single line and exits 1.
#pragma once

#include <stdexcept>
#include <string>

namespace vae {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The first line of an exception's text (LibTorch's carry a backtrace), for
// one-line messages.
inline std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace vae
