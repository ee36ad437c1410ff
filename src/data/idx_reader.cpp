#include "vae/data/idx_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "vae/runtime/error.h"

namespace vae {
namespace {

constexpr unsigned char kTypeUnsignedByte = 0x08;

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// gzread decompresses gzip files and passes other files through unchanged.
std::string read_maybe_gzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw Error(path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  }
  std::string bytes;
  char chunk[1 << 16];
  for (;;) {
    const int n = gzread(file, chunk, sizeof(chunk));
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(file, &code);
      gzclose(file);
      throw Error(path + ": corrupt gzip stream (" + why + ")");
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<size_t>(n));
  }
  // A gzip stream cut short ends without error from gzread but is flagged by
  // gzclose (Z_BUF_ERROR): that is a truncated download.
  const int close_code = gzclose(file);
  if (close_code == Z_BUF_ERROR) {
    throw Error(path + ": truncated gzip stream (file ends before the compressed data does)");
  }
  if (close_code != Z_OK) throw Error(path + ": corrupt gzip stream");
  return bytes;
}

}  // namespace

IdxArray parse_idx(const std::string& bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4) {
    throw Error(name + ": truncated IDX file (" + std::to_string(bytes.size()) +
                " bytes, the magic number alone needs 4)");
  }
  if (p[0] != 0 || p[1] != 0) {
    char magic[16];
    std::snprintf(magic, sizeof(magic), "0x%02X%02X%02X%02X", p[0], p[1], p[2], p[3]);
    throw Error(name + ": wrong magic number " + magic +
                " (an IDX file starts with 0x0000TTNN: two zero bytes, type, dimensions)");
  }
  if (p[2] != kTypeUnsignedByte) {
    char type[8];
    std::snprintf(type, sizeof(type), "0x%02X", p[2]);
    throw Error(name + ": unsupported IDX data type " + type + " (only unsigned byte, 0x08)");
  }
  const int ndim = p[3];
  if (ndim < 1) throw Error(name + ": IDX header declares 0 dimensions");
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  if (bytes.size() < header) {
    throw Error(name + ": truncated IDX header (" + std::to_string(bytes.size()) + " bytes, " +
                std::to_string(ndim) + " dimensions need " + std::to_string(header) + ")");
  }

  IdxArray out;
  const uint64_t available = bytes.size() - header;
  uint64_t count = 1;
  bool overflow = false;
  std::string sizes;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t size = big_endian_u32(p + 4 + 4 * d);
    out.dims.push_back(static_cast<int64_t>(size));
    sizes += (d ? "x" : "") + std::to_string(size);
    if (size != 0 && count > std::numeric_limits<uint64_t>::max() / size) overflow = true;
    count *= size;
  }
  if (overflow) {
    throw Error(name + ": IDX header declares sizes " + sizes + ", far more than the " +
                std::to_string(available) + " bytes of data in the file (corrupt header?)");
  }
  if (available < count) {
    throw Error(name + ": truncated IDX data: header promises " + std::to_string(count) +
                " bytes, file holds " + std::to_string(available));
  }
  if (available > count) {
    throw Error(name + ": " + std::to_string(available - count) +
                " unexpected bytes after the IDX data (header promises " + std::to_string(count) +
                ")");
  }
  out.data = torch::empty(out.dims, torch::kUInt8);
  if (count > 0) std::memcpy(out.data.data_ptr<uint8_t>(), p + header, count);
  return out;
}

IdxArray read_idx(const std::string& path) {
  return parse_idx(read_maybe_gzipped(path), path);
}

}  // namespace vae
