// The properties the fuzz targets check, one function per parser of outside
// input. libFuzzer drives them through fuzz_<name>.cpp (scripts/fuzz.sh);
// the test suite replays the committed corpus (tests/fuzz/corpus/<name>/,
// where every crash once found is kept) through the same functions.
// Each returns normally when the input parsed or was refused with
// vae::Error; any other exception propagates, and a wrong result traps.
#include "fuzz_targets.h"

#include <sys/mman.h>
#include <unistd.h>

#include <torch/torch.h>

#include "vae/data/idx_reader.h"
#include "vae/data/image_input.h"
#include "vae/run/checkpoint.h"
#include "vae/run/config.h"
#include "vae/runtime/error.h"

namespace vae::fuzz {
namespace {

// The input bytes as a file that the project's path-based readers open (an
// anonymous memfd, reached as /proc/self/fd/N), so that each target runs
// exactly the code `vae` runs.
class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) : fd_(memfd_create("vae-fuzz", 0)) {
    size_t written = 0;
    while (fd_ >= 0 && written < size) {
      const ssize_t n = ::write(fd_, data + written, size - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

void check_idx(const IdxArray& array) {
  // The tensor has exactly the declared shape (sizes may be huge when another
  // one is 0: compare them, do not multiply them).
  if (array.data.sizes().vec() != array.dims || array.data.scalar_type() != torch::kUInt8) {
    __builtin_trap();
  }
}

}  // namespace

// The IDX reader on gzip-compressed and raw files, through
// read_idx (zlib's gzread path) and parse_idx (bytes in memory). Every
// input must either parse into a tensor of the declared shape or throw
// vae::Error; anything else (a crash, a sanitizer report, another
// exception) is a bug.
void idx_reader(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    check_idx(parse_idx(bytes, "fuzz"));
  } catch (const Error&) {
  }
  MemoryFile file(data, size);
  try {
    check_idx(read_idx(file.path()));
  } catch (const Error&) {
  }
}

// The picture loader of `vae encode` (OpenCV decoding,
// grayscale, resize, inversion). Every input must give a 28x28 uint8 image or
// throw vae::Error.
void image_input(const uint8_t* data, size_t size) {
  MemoryFile file(data, size);
  try {
    const torch::Tensor image = read_picture(file.path(), 28, 28, Invert::kAuto);
    if (image.sizes() != torch::IntArrayRef({28, 28})) __builtin_trap();
  } catch (const Error&) {
  }
}

// The model preset / run config reader (JSON) and the
// validation behind `vae train --model FILE.json` and `--resume`. Every
// input must be applied and validated, or throw vae::Error.
void config(const uint8_t* data, size_t size) {
  MemoryFile file(data, size);
  try {
    TrainConfig settings;
    apply_preset_file(settings, file.path());
    validate(settings);
    settings.network.validate();
    // What a resumed run does with the saved config: write it, read it back.
    TrainConfig again;
    apply_settings(again, to_json(settings), "round trip");
    if (to_json(again) != to_json(settings)) __builtin_trap();
  } catch (const Error&) {
  }
}

// Checkpoint loading (`vae train --resume` and every
// command that takes --checkpoint): open, check, build the model the config
// describes and load its parameters and the optimizer state. Every input
// must load or throw vae::Error.
void checkpoint(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const Checkpoint loaded = Checkpoint::from_bytes(bytes, "fuzz.pt");
    VAE model = load_model_from_checkpoint(loaded, torch::kCPU);
    torch::optim::Adam adam(model->parameters());
    loaded.load_optimizer(adam);
    loaded.restore_rng(torch::kCPU);
  } catch (const Error&) {
  }
}

}  // namespace vae::fuzz
