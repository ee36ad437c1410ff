#include "vae/data/image_cache.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <sstream>

#include "vae/runtime/atomic_file.h"

namespace vae {
namespace {

constexpr const char* kFormat = "vae image cache 1";
// The archive is followed by its CRC-32 and this mark: a damaged file is
// recognised before LibTorch parses it (its parser can crash on damage).
constexpr char kMark[4] = {'V', 'I', 'C', '1'};

uint32_t crc_of(const std::string& bytes, size_t size) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(size)));
}

}  // namespace

std::optional<std::vector<ImageDataset>> read_image_cache(const std::string& path,
                                                          const std::string& key) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return std::nullopt;
  try {
    const std::string bytes = read_file(path);
    if (bytes.size() < 8 || std::memcmp(bytes.data() + bytes.size() - 4, kMark, 4) != 0)
      return std::nullopt;
    const size_t size = bytes.size() - 8;
    uint32_t crc = 0;
    std::memcpy(&crc, bytes.data() + size, 4);
    if (crc != crc_of(bytes, size)) return std::nullopt;
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), size);
    c10::IValue value;
    archive.read("format", value);
    if (!value.isString() || value.toStringRef() != kFormat) return std::nullopt;
    archive.read("key", value);
    if (!value.isString() || value.toStringRef() != key) return std::nullopt;
    archive.read("sets", value);
    const int64_t n = value.toInt();
    std::vector<ImageDataset> sets(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      ImageDataset& set = sets[static_cast<size_t>(i)];
      archive.read("images" + std::to_string(i), set.images);
      archive.read("labels" + std::to_string(i), set.labels);
      if (set.images.scalar_type() != torch::kUInt8 || set.images.dim() != 4 ||
          set.labels.dim() != 1 || set.labels.size(0) != set.images.size(0))
        return std::nullopt;
    }
    return sets;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged cache is decoded anew and rewritten
  }
}

void write_image_cache(const std::string& path, const std::string& key,
                       const std::vector<ImageDataset>& sets) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("key", c10::IValue(key));
  archive.write("sets", c10::IValue(static_cast<int64_t>(sets.size())));
  for (size_t i = 0; i < sets.size(); ++i) {
    archive.write("images" + std::to_string(i), sets[i].images);
    archive.write("labels" + std::to_string(i), sets[i].labels);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  std::string out = bytes.str();
  const uint32_t crc = crc_of(out, out.size());
  out.append(reinterpret_cast<const char*>(&crc), 4);
  out.append(kMark, 4);
  write_file_atomically(path, out);
}

}  // namespace vae
