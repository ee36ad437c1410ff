#include "vae/data/data_source.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "vae/data/image_cache.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

namespace fs = std::filesystem;

std::string fixed1(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", v);
  return text;
}

// IDX images [N, H, W] in the requested colour: grey as they are, rgb as
// three equal planes.
ImageDataset idx_in_colour(ImageDataset data, ColorMode color) {
  if (color == ColorMode::kRgb)
    data.images = data.images.unsqueeze(1).repeat({1, 3, 1, 1}).contiguous();
  return data;
}

DataSets load_idx(const DataSource& source) {
  const ImageFolderOptions& p = source.pictures;
  if (p.height > 0 || p.crop || !source.test_dir.empty() || !source.cache.empty()) {
    throw Error(std::string(p.height > 0              ? "--image-size"
                            : p.crop                  ? "--crop"
                            : source.test_dir.empty() ? "--cache"
                                                      : "--test-dir") +
                " applies to folders of pictures; " + source.dir + " holds MNIST IDX files");
  }
  DataSets sets;
  sets.train = idx_in_colour(load_mnist(source.dir, Split::kTrain), p.color);
  sets.test = idx_in_colour(load_mnist(source.dir, Split::kTest), p.color);
  sets.description = "IDX files";
  return sets;
}

bool is_idx_source(const DataSource& source) {
  return holds_idx_files(source.dir) || !fs::is_directory(source.dir);
}

// The cache's key: both folders' listings and every option that changes the
// decoded pixels.
std::string cache_key(const FolderListing& train, const std::optional<FolderListing>& test,
                      const ImageFolderOptions& p) {
  return "size " + std::to_string(p.height) + "x" + std::to_string(p.width) + " crop " +
         std::to_string(p.crop) + " color " + color_modes().name(p.color) + " skip_bad " +
         std::to_string(p.skip_bad) + "\n" + train.fingerprint() + "\ntest\n" +
         (test ? test->fingerprint() : std::string());
}

// The decoded folders (train, and test when it has its own folder).
std::vector<ImageDataset> decode_folders(const FolderListing& train,
                                         const std::optional<FolderListing>& test,
                                         const ImageFolderOptions& options, int64_t& skipped) {
  FolderImages first = load_image_folder(train, options);
  std::vector<ImageDataset> sets{first.data};
  skipped = first.skipped;
  if (test) {
    ImageFolderOptions same = options;
    // The test pictures in the training pictures' channels and size.
    same.color = first.data.images.size(1) == 3 ? ColorMode::kRgb : ColorMode::kGrey;
    same.height = first.data.images.size(2);
    same.width = first.data.images.size(3);
    if (options.height <= 0) same.height = same.width = 0;
    FolderImages second = load_image_folder(*test, same);
    skipped += second.skipped;
    if (second.data.images.sizes().slice(1) != first.data.images.sizes().slice(1)) {
      throw Error("the test pictures in " + test->dir + " are " +
                  std::to_string(second.data.images.size(3)) + "x" +
                  std::to_string(second.data.images.size(2)) + ", the training pictures " +
                  std::to_string(first.data.images.size(3)) + "x" +
                  std::to_string(first.data.images.size(2)) + "; give --image-size");
    }
    sets.push_back(second.data);
  }
  return sets;
}

// The pictures in a fixed shuffled order (kSplitSeed): a folder lists them
// class by class, and --train-size / --test-size should take a sample of
// every class.
ImageDataset shuffled(const ImageDataset& all) {
  auto generator = at::detail::createCPUGenerator(kSplitSeed);
  const torch::Tensor order = torch::randperm(all.size(), generator, torch::kLong);
  return {all.images.index_select(0, order), all.labels.index_select(0, order)};
}

// The first `fraction` of the shuffled pictures as the test set, the rest
// for training.
void split_off_test(DataSets& sets, const ImageDataset& all, double fraction) {
  const int64_t n = all.size();
  const int64_t test = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (test < 1 || test >= n) {
    throw Error("--test-fraction " + std::to_string(fraction) + " of " + std::to_string(n) +
                " pictures leaves " + (test < 1 ? "no test" : "no training") +
                " pictures; give another fraction or --test-dir");
  }
  const ImageDataset mixed = shuffled(all);
  sets.test = take_first(mixed, test);
  sets.train = {mixed.images.narrow(0, test, n - test), mixed.labels.narrow(0, test, n - test)};
}

DataSets load_pictures(const DataSource& source) {
  // Listing the folders (a stat per file) counts in the times reported.
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return fixed1(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  const FolderListing train = list_image_folder(source.dir);
  std::optional<FolderListing> test;
  if (!source.test_dir.empty()) test = list_image_folder(source.test_dir);
  const std::string key = cache_key(train, test, source.pictures);
  std::vector<ImageDataset> decoded;
  std::string note;
  if (!source.cache.empty()) {
    if (auto cached = read_image_cache(source.cache, key);
        cached && cached->size() == (test ? 2u : 1u)) {
      decoded = std::move(*cached);
      note = "listed and read from the cache " + source.cache + " in " + seconds() + " s";
    }
  }
  if (decoded.empty()) {
    int64_t skipped = 0;
    decoded = decode_folders(train, test, source.pictures, skipped);
    note = "listed and decoded in " + seconds() + " s" +
           (skipped > 0 ? ", " + std::to_string(skipped) + " unreadable pictures skipped" : "");
    if (!source.cache.empty()) {
      write_image_cache(source.cache, key, decoded);
      note += ", cached in " + source.cache;
    }
  }
  DataSets sets;
  if (test) {
    sets.train = shuffled(decoded[0]);
    sets.test = shuffled(decoded[1]);
  } else {
    split_off_test(sets, decoded[0], source.test_fraction);
  }
  sets.description =
      "pictures" +
      (train.classes.empty() ? std::string(" (no classes)")
                             : " in " + std::to_string(train.classes.size()) + " classes") +
      ", " + note;
  return sets;
}

}  // namespace

bool holds_idx_files(const std::string& dir) {
  std::error_code error;
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"}) {
    if (fs::exists(fs::path(dir) / name, error)) return true;
  }
  return false;
}

DataSets load_data_sets(const DataSource& source) {
  if (!(source.test_fraction > 0.0 && source.test_fraction < 1.0))
    throw Error("--test-fraction must lie strictly between 0 and 1");
  return is_idx_source(source) ? load_idx(source) : load_pictures(source);
}

ImageDataset load_test_set(const DataSource& source) {
  if (is_idx_source(source))
    return idx_in_colour(load_mnist(source.dir, Split::kTest), source.pictures.color);
  return load_data_sets(source).test;
}

}  // namespace vae
