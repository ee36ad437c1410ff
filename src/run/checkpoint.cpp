#include "vae/run/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fstream>
#include <sstream>

#include "vae/run/config.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

constexpr const char* kFormat = "vae-checkpoint";
constexpr int kChildParsed = 0;
constexpr int kChildThrew = 3;

const at::Generator& default_generator(torch::Device device) {
  return at::globalContext().defaultGenerator(device);
}

// Every checkpoint ends with 16 bytes: "vaecrc32", the CRC-32 (zlib) of the
// archive before it and the archive's length, both little-endian uint32.
// LibTorch's reader is not robust against damaged archives (see below), so
// a damaged or cut file is refused on its checksum before it is parsed.
constexpr char kTrailerMagic[8] = {'v', 'a', 'e', 'c', 'r', 'c', '3', '2'};
constexpr size_t kTrailerSize = 16;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const std::string& in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

uint32_t crc_of(const std::string& bytes, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  for (size_t done = 0; done < size;) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size - done, 1u << 30));
    crc = crc32(crc, data + done, chunk);
    done += chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string checksum_trailer(const std::string& archive) {
  std::string trailer(kTrailerMagic, sizeof(kTrailerMagic));
  put_u32(trailer, crc_of(archive, archive.size()));
  put_u32(trailer, static_cast<uint32_t>(archive.size()));
  return trailer;
}

// The length of the archive in front of a valid trailer; throws vae::Error.
size_t verified_archive_size(const std::string& bytes, const std::string& path) {
  if (bytes.size() < kTrailerSize ||
      bytes.compare(bytes.size() - kTrailerSize, sizeof(kTrailerMagic), kTrailerMagic,
                    sizeof(kTrailerMagic)) != 0) {
    throw Error("checkpoint " + path +
                " is truncated or corrupt, or not a vae checkpoint (no vae checksum at its end)");
  }
  const size_t size = bytes.size() - kTrailerSize;
  if (get_u32(bytes, size + 12) != static_cast<uint32_t>(size) ||
      get_u32(bytes, size + 8) != crc_of(bytes, size)) {
    throw Error("checkpoint " + path + " is truncated or corrupt (checksum mismatch)");
  }
  return size;
}

// LibTorch 1.13 reads an archive by running TorchScript's parser over the
// type annotations stored in it, and fuzzing found damaged files on which
// that parser crashes (SEGV in ScriptTypeParser) instead of throwing. So the
// first parse of untrusted bytes runs in a forked child: the parent reads the
// archive only when the child survived it (it may still throw, cleanly, in
// the parent). A child that dies, by a signal or a sanitizer, means a
// corrupt file. Where fork fails, the archive is read in this process.
bool archive_parses_safely(const std::string& bytes) {
  const pid_t pid = ::fork();
  if (pid < 0) return true;
  if (pid == 0) {
    // The child: fatal signals and sanitizer reports end it quietly.
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 2);
    struct sigaction quiet;
    std::memset(&quiet, 0, sizeof(quiet));
    quiet.sa_handler = [](int) { ::_exit(98); };
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
      ::sigaction(sig, &quiet, nullptr);
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(bytes.data(), bytes.size(), torch::Device(torch::kCPU));
    } catch (...) {
      ::_exit(kChildThrew);
    }
    ::_exit(kChildParsed);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) &&
         (WEXITSTATUS(status) == kChildParsed || WEXITSTATUS(status) == kChildThrew);
}

}  // namespace

void save_checkpoint(const std::string& path, VAE& model, torch::optim::Optimizer& optimizer,
                     const TrainingState& state, torch::Device device,
                     const WeightAverage* average) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("version", c10::IValue(kCheckpointVersion));
  archive.write("config", c10::IValue(state.config.dump()));
  archive.write("epoch", c10::IValue(state.epoch));
  archive.write("step", c10::IValue(state.step));
  nlohmann::json history = nlohmann::json::array();
  for (const EpochMetrics& m : state.history)
    history.push_back(to_json(m));
  archive.write("history", c10::IValue(history.dump()));
  if (state.has_partial) {
    const PartialEpoch& p = state.partial;
    nlohmann::json partial{{"batches", p.batches}, {"images", p.images}, {"seconds", p.seconds}};
    if (p.norm_tests > 0) {
      partial["norm_noise"] = p.norm_noise;
      partial["norm_signal"] = p.norm_signal;
      partial["norm_tests"] = p.norm_tests;
    }
    archive.write("partial", c10::IValue(partial.dump()));
    archive.write("partial_sums", p.sums.to(torch::kCPU));
    archive.write("partial_order", p.order.to(torch::kCPU));
  }
  archive.write("rng_cpu", default_generator(torch::kCPU).get_state());
  if (device.is_cuda()) archive.write("rng_cuda", default_generator(device).get_state());

  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  if (average != nullptr) {
    torch::serialize::OutputArchive average_archive;
    average->save(average_archive);
    archive.write("average", average_archive);
  }

  std::ostringstream bytes;
  archive.save_to(bytes);
  std::string contents = bytes.str();
  contents += checksum_trailer(contents);
  write_file_atomically(path, contents);
}

Checkpoint::Checkpoint(const std::string& path, torch::Device device)
    : Checkpoint(path, nullptr, device) {}

Checkpoint Checkpoint::from_bytes(const std::string& bytes, const std::string& path,
                                  torch::Device device) {
  return Checkpoint(path, &bytes, device);
}

Checkpoint::Checkpoint(const std::string& path, const std::string* bytes, torch::Device device)
    : path_(path), archive_(std::make_shared<torch::serialize::InputArchive>()) {
  std::string file_bytes;
  if (bytes == nullptr) {
    std::ifstream probe(path);
    if (!probe) throw Error("cannot read checkpoint " + path + ": no such file");
    file_bytes = read_file(path);
    bytes = &file_bytes;
  }
  // The checksum first: a damaged file never reaches LibTorch's reader.
  const size_t archive_size = verified_archive_size(*bytes, path);
  const std::string archive_bytes = bytes->substr(0, archive_size);
  bytes = &archive_bytes;
  if (!archive_parses_safely(*bytes)) {
    throw Error("checkpoint " + path +
                " is corrupt (its archive crashes LibTorch's reader; the file was damaged)");
  }
  try {
    archive_->load_from(bytes->data(), bytes->size(), device);
  } catch (const std::exception& e) {
    // c10::Error, and std::runtime_error from the TorchScript parser behind
    // the archive's type annotations.
    throw Error("checkpoint " + path + " is truncated or corrupt (" + first_line(e.what()) + ")");
  }
  try {
    c10::IValue value;
    if (!archive_->try_read("format", value) || !value.isString() ||
        value.toStringRef() != kFormat) {
      throw Error("file " + path + " is not a vae checkpoint");
    }
    archive_->read("version", value);
    if (value.toInt() != kCheckpointVersion) {
      throw Error("checkpoint " + path + " has format version " + std::to_string(value.toInt()) +
                  "; this build reads version " + std::to_string(kCheckpointVersion));
    }
    archive_->read("config", value);
    state_.config = nlohmann::json::parse(value.toStringRef());
    archive_->read("epoch", value);
    state_.epoch = value.toInt();
    archive_->read("step", value);
    state_.step = value.toInt();
    archive_->read("history", value);
    for (const auto& item : nlohmann::json::parse(value.toStringRef())) {
      state_.history.push_back(epoch_metrics_from_json(item));
    }
    if (archive_->try_read("partial", value)) {
      const nlohmann::json partial = nlohmann::json::parse(value.toStringRef());
      state_.has_partial = true;
      state_.partial.batches = partial.at("batches").get<int64_t>();
      state_.partial.images = partial.at("images").get<int64_t>();
      state_.partial.seconds = partial.at("seconds").get<double>();
      state_.partial.norm_noise = partial.value("norm_noise", 0.0);
      state_.partial.norm_signal = partial.value("norm_signal", 0.0);
      state_.partial.norm_tests = partial.value("norm_tests", int64_t{0});
      archive_->read("partial_sums", state_.partial.sums);
      archive_->read("partial_order", state_.partial.order);
      if (state_.partial.sums.numel() != 3 || state_.partial.order.dim() != 1 ||
          state_.partial.order.scalar_type() != torch::kLong || state_.partial.batches < 0) {
        throw Error("checkpoint " + path + " is corrupt: bad partial-epoch state");
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path + " is corrupt: " + first_line(e.what()));
  }
}

void Checkpoint::load_model(VAE& model) const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  for (const auto& item : model->named_parameters()) {
    expected.emplace_back(item.key(), item.value().sizes().vec());
  }
  try {
    torch::serialize::InputArchive model_archive;
    archive_->read("model", model_archive);
    model->load(model_archive);
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path_ + " does not fit the model (" + first_line(e.what()) + ")");
  }
  // LibTorch's loader replaces tensors whatever their shape; check them.
  const auto params = model->named_parameters();
  for (const auto& [name, sizes] : expected) {
    if (params[name].sizes().vec() != sizes) {
      throw Error("checkpoint " + path_ + ": parameter " + name + " has shape " +
                  c10::str(params[name].sizes()) + ", the model expects " + c10::str(sizes));
    }
  }
}

void Checkpoint::load_average(WeightAverage& average) const {
  torch::serialize::InputArchive average_archive;
  if (!archive_->try_read("average", average_archive)) {
    throw Error("checkpoint " + path_ + " holds no weight average, though its run keeps one");
  }
  average.load(average_archive, "checkpoint " + path_);
}

bool Checkpoint::load_average_into(VAE& model) const {
  torch::serialize::InputArchive average_archive;
  if (!archive_->try_read("average", average_archive)) return false;
  load_averaged_parameters(*model, average_archive, "checkpoint " + path_);
  return true;
}

void Checkpoint::load_optimizer(torch::optim::Optimizer& optimizer) const {
  try {
    torch::serialize::InputArchive optimizer_archive;
    archive_->read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path_ + ": cannot restore the optimizer (" + first_line(e.what()) +
                ")");
  }
}

void Checkpoint::restore_rng(torch::Device device) const {
  try {
    torch::Tensor state;
    archive_->read("rng_cpu", state);
    at::Generator cpu = default_generator(torch::kCPU);
    cpu.set_state(state.to(torch::kCPU));
    if (device.is_cuda() && archive_->try_read("rng_cuda", state)) {
      at::Generator cuda = default_generator(device);
      cuda.set_state(state.to(torch::kCPU));
    }
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path_ + ": cannot restore the random generators (" +
                first_line(e.what()) + ")");
  }
}

VAE load_model_from_checkpoint(const Checkpoint& checkpoint, torch::Device device) {
  TrainConfig config;
  apply_settings(config, checkpoint.state().config, checkpoint.path());
  VAE model(config.network);
  checkpoint.load_model(model);
  checkpoint.load_average_into(model);
  model->to(device);
  return model;
}

}  // namespace vae
