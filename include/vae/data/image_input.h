// Images for amortized inference (`vae encode`): picture files read with
// OpenCV, whole directories of them, and IDX files, all turned into uint8
// images of the model's size with light strokes on a dark background (MNIST's
// convention).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "vae/runtime/name_table.h"

namespace vae {

// auto: invert an image whose mean grey level is above the middle (a dark
// digit on light paper); always / never: as said.
enum class Invert { kAuto, kAlways, kNever };
const NameTable<Invert>& invert_modes();
Invert parse_invert(const std::string& name);

// One image to encode: a picture file, or entry `index` of an IDX file
// (whose images are then held in `idx_images`).
struct InputItem {
  std::string name;  // file path, or "path#index" for IDX entries
  std::string path;
  int64_t index = -1;
  torch::Tensor idx_images;  // uint8 [N, H, W] for IDX entries
};

// Expands command-line inputs: picture files (is_picture_file: png, jpg,
// ppm, ...), directories (their picture files, sorted by name), and
// IDX files (anything else; each of their images is an item). Throws
// vae::Error for a missing path, an empty directory, or an IDX file whose
// images are not height x width.
std::vector<InputItem> expand_inputs(const std::vector<std::string>& inputs, int64_t height,
                                     int64_t width);

// Reads a picture as grey (channels 1) or RGB (channels 3), resizes it to
// height x width (area interpolation) and inverts it as `invert` says (auto:
// by the mean over all channels): uint8 [height, width], or [3, height,
// width]. Throws vae::Error naming the file when OpenCV cannot read it.
torch::Tensor read_picture(const std::string& path, int64_t height, int64_t width, Invert invert,
                           int64_t channels = 1);

// The uint8 [H, W] (or [3, H, W]) image of an item; IDX entries are used as
// stored, grey, repeated in three planes for a colour model.
torch::Tensor load_item(const InputItem& item, int64_t height, int64_t width, Invert invert,
                        int64_t channels = 1);

}  // namespace vae
