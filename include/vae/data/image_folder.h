// Training data from a folder of pictures, read with OpenCV: either class
// subfolders (labels from the folder names, sorted, as torchvision's
// ImageFolder) or a flat folder of pictures (no labels). Every picture is
// decoded once, by all CPUs, into one uint8 tensor [N, C, H, W] in memory.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "vae/data/mnist.h"
#include "vae/runtime/name_table.h"

namespace vae {

// The channels the pictures are stored with: as found (grey when every
// picture is grey, else RGB), grey, or RGB (in that order, not OpenCV's BGR).
enum class ColorMode { kAuto, kGrey, kRgb };
const NameTable<ColorMode>& color_modes();

struct ImageFolderOptions {
  // 0: the pictures' own size, which must then be the same for all.
  int64_t height = 0, width = 0;
  // true: scale the picture to cover H x W and cut the middle out;
  // false: scale it to H x W (the aspect ratio may change).
  bool crop = false;
  ColorMode color = ColorMode::kAuto;
  // true: leave out pictures OpenCV cannot read (counted); false: the first
  // one is an error naming it.
  bool skip_bad = false;
  std::ostream* log = nullptr;  // a progress bar; nullptr: none
  bool terminal = false;
};

// One picture file of a folder.
struct PictureFile {
  std::string path;
  int64_t label = 0;  // index of its class subfolder (0 in a flat folder)
  uint64_t bytes = 0;
  int64_t mtime_ns = 0;
};

struct FolderListing {
  std::string dir;
  std::vector<PictureFile> files;    // sorted: class, then file name
  std::vector<std::string> classes;  // subfolder names, sorted; empty for a flat folder
  // Names, sizes and modification times of every file: equal listings mean
  // an unchanged folder (the cache's test).
  std::string fingerprint() const;
};

// Picture files by their extension (png, jpg, jpeg, bmp, tif, tiff, webp,
// pgm, ppm, pnm), case-insensitive.
bool is_picture_file(const std::string& path);

// True when `dir` holds picture files, directly or in its subfolders.
bool holds_pictures(const std::string& dir);

// The pictures of `dir`: its subfolders' (classes) when it has subfolders
// holding pictures, else its own. Throws vae::Error for a missing folder, a
// folder without pictures, or more than 256 classes.
FolderListing list_image_folder(const std::string& dir);

struct FolderImages {
  ImageDataset data;     // images uint8 [N, C, H, W], labels uint8 [N]
  int64_t skipped = 0;   // unreadable pictures left out (skip_bad)
  double seconds = 0.0;  // decoding time
};

// Decodes the listed pictures. 16-bit pictures keep their values when all
// are at most 255 (counts), else are scaled to 8 bits; an alpha channel is
// dropped. Throws vae::Error naming the file for an unreadable (or empty)
// picture unless skip_bad, and for pictures of different sizes without
// options.height/width.
FolderImages load_image_folder(const FolderListing& listing, const ImageFolderOptions& options);

}  // namespace vae
