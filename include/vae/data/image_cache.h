// --cache FILE: decoded pictures saved after the first run and read back by
// the next, valid while its key (the folders' listings and the decoding
// options) is unchanged.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vae/data/mnist.h"

namespace vae {

// The data sets saved under `key`, or nothing when the file is missing,
// unreadable or was made for another key (a changed folder).
std::optional<std::vector<ImageDataset>> read_image_cache(const std::string& path,
                                                          const std::string& key);

// Writes the data sets under `key` (a temporary file, then renamed).
void write_image_cache(const std::string& path, const std::string& key,
                       const std::vector<ImageDataset>& sets);

}  // namespace vae
