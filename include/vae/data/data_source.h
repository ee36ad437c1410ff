// Where a run's images come from: a directory of MNIST-format IDX files
// (train-* and t10k-*), or a folder of pictures (data/image_folder.h) with
// its test set in another folder or split off by a fixed seed; optionally
// cached after the first decoding (--cache).
#pragma once

#include <cstdint>
#include <string>

#include "vae/data/image_folder.h"
#include "vae/data/mnist.h"

namespace vae {

struct DataSource {
  std::string dir;  // resolved (resolve_data_dir)
  // Pictures only: the test set's folder, else this share of `dir`'s
  // pictures (chosen by kSplitSeed, the same for every run).
  std::string test_dir;
  double test_fraction = 0.1;
  ImageFolderOptions pictures;  // sizes, crop, colour, skip_bad; IDX: colour only
  // Pictures only: a file holding the decoded folders, read instead of
  // decoding while the folders and the options are unchanged; empty: none.
  std::string cache;
};

// Seed of the fixed order of a folder's pictures (shuffled, so that the first
// N are a sample of every class) and of the train/test split of a folder
// without --test-dir (its first --test-fraction).
constexpr uint64_t kSplitSeed = 20261205;

struct DataSets {
  ImageDataset train, test;  // images uint8 [N, H, W] (IDX) or [N, C, H, W]
  // One line for the log: "IDX files" or "pictures in 10 classes, 3 unreadable
  // skipped, decoded in 4.2 s" / "read from the cache ...".
  std::string description;
};

// Throws vae::Error with one line for missing or malformed data, and for
// picture-only options given with IDX files.
DataSets load_data_sets(const DataSource& source);

// The test set alone (what vae eval and the other commands score): an IDX
// directory's t10k files without its training files; a folder's test
// pictures (a --test-fraction share needs the whole folder decoded, or the
// cache).
ImageDataset load_test_set(const DataSource& source);

// Whether `dir` holds MNIST-format IDX files (train-images-idx3-ubyte[.gz]).
bool holds_idx_files(const std::string& dir);

}  // namespace vae
