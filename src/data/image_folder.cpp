#include "vae/data/image_folder.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "vae/runtime/error.h"
#include "vae/runtime/progress.h"
#include "vae/runtime/runtime.h"

namespace vae {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The picture files directly in `dir`, sorted by name.
std::vector<fs::path> pictures_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && is_picture_file(entry.path().string()))
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

PictureFile describe(const fs::path& path, int64_t label) {
  PictureFile file;
  file.path = path.string();
  file.label = label;
  file.bytes = fs::file_size(path);
  file.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      fs::last_write_time(path).time_since_epoch())
                      .count();
  return file;
}

// A decoded picture, 8 bits, 1 or 3 channels (BGR as OpenCV reads it).
cv::Mat decode(const std::string& path) {
  cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (image.empty()) return image;
  if (image.depth() == CV_16U) {
    double low = 0.0, high = 0.0;
    cv::minMaxLoc(image.reshape(1), &low, &high);
    // Counts (e.g. 0..16) keep their values; 16-bit grey levels become 8-bit.
    image.convertTo(image, CV_8U, high <= 255.0 ? 1.0 : 255.0 / 65535.0);
  } else if (image.depth() != CV_8U) {
    return cv::Mat();  // float or signed pictures: not images of this kind
  }
  if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
  if (image.channels() == 2) return cv::Mat();
  return image;
}

// `image` brought to height x width (0: unchanged): area interpolation when
// shrinking, linear when enlarging; with crop, scaled to cover and cut.
cv::Mat fit(const cv::Mat& image, int64_t height, int64_t width, bool crop) {
  if (height <= 0 || (image.rows == height && image.cols == width)) return image;
  const auto resize = [](const cv::Mat& in, int w, int h) {
    cv::Mat out;
    const bool shrink = w <= in.cols && h <= in.rows;
    cv::resize(in, out, cv::Size(w, h), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
  };
  const int h = static_cast<int>(height), w = static_cast<int>(width);
  if (!crop) return resize(image, w, h);
  const double scale =
      std::max(static_cast<double>(h) / image.rows, static_cast<double>(w) / image.cols);
  const int sh = std::max(h, static_cast<int>(std::lround(image.rows * scale)));
  const int sw = std::max(w, static_cast<int>(std::lround(image.cols * scale)));
  const cv::Mat scaled = resize(image, sw, sh);
  return scaled(cv::Rect((sw - w) / 2, (sh - h) / 2, w, h)).clone();
}

}  // namespace

const NameTable<ColorMode>& color_modes() {
  static const NameTable<ColorMode> table(
      "--color", {{ColorMode::kAuto, "auto", "grey if every picture is grey, else rgb"},
                  {ColorMode::kGrey, "grey"},
                  {ColorMode::kRgb, "rgb"}});
  return table;
}

bool is_picture_file(const std::string& path) {
  static const std::vector<std::string> kinds = {".png",  ".jpg",  ".jpeg", ".bmp", ".tif",
                                                 ".tiff", ".webp", ".pgm",  ".ppm", ".pnm"};
  const std::string ext = lower(fs::path(path).extension().string());
  return std::find(kinds.begin(), kinds.end(), ext) != kinds.end();
}

bool holds_pictures(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && is_picture_file(entry.path().string())) return true;
    if (entry.is_directory() && !pictures_in(entry.path()).empty()) return true;
  }
  return false;
}

std::string FolderListing::fingerprint() const {
  std::string out;
  out.reserve(files.size() * 48);
  for (const PictureFile& f : files) {
    out += fs::path(f.path).lexically_relative(dir).string();
    out += '\t' + std::to_string(f.bytes) + '\t' + std::to_string(f.mtime_ns) + '\t' +
           std::to_string(f.label) + '\n';
  }
  return out;
}

FolderListing list_image_folder(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw Error(dir + ": no such folder");
  FolderListing listing;
  listing.dir = dir;
  std::vector<fs::path> subfolders;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !pictures_in(entry.path()).empty())
      subfolders.push_back(entry.path());
  }
  std::sort(subfolders.begin(), subfolders.end());
  if (subfolders.size() > 256) {
    throw Error(dir + " has " + std::to_string(subfolders.size()) +
                " class subfolders; at most 256 are supported");
  }
  for (size_t c = 0; c < subfolders.size(); ++c) {
    listing.classes.push_back(subfolders[c].filename().string());
    for (const fs::path& path : pictures_in(subfolders[c]))
      listing.files.push_back(describe(path, static_cast<int64_t>(c)));
  }
  // Pictures beside class subfolders would have no class: a flat folder
  // only when there are none.
  if (subfolders.empty()) {
    for (const fs::path& path : pictures_in(dir))
      listing.files.push_back(describe(path, 0));
  }
  if (listing.files.empty()) {
    throw Error(dir +
                " holds no pictures (png, jpg, jpeg, bmp, tif, tiff, webp, pgm, ppm, pnm), "
                "neither directly nor in class subfolders, and no MNIST IDX files");
  }
  return listing;
}

FolderImages load_image_folder(const FolderListing& listing, const ImageFolderOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(listing.files.size());
  std::vector<cv::Mat> images(static_cast<size_t>(n));
  std::vector<char> bad(static_cast<size_t>(n), 0);
  std::atomic<int64_t> next{0}, done{0}, unreadable{0};
  // Decoding is independent per file: every CPU takes the next one.
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(available_cpus(), n));
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < workers; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = next++; i < n; i = next++) {
        const size_t k = static_cast<size_t>(i);
        cv::Mat image;
        try {
          image = decode(listing.files[k].path);
          if (!image.empty()) image = fit(image, options.height, options.width, options.crop);
        } catch (const cv::Exception&) {
          image = cv::Mat();
        }
        if (image.empty()) {
          bad[k] = 1;
          ++unreadable;
        }
        images[k] = std::move(image);
        ++done;
      }
    });
  }
  if (options.log != nullptr) {
    Progress progress(*options.log, options.terminal, "decoding " + listing.dir, n,
                      std::max<int64_t>(1, n / 10));
    progress.set_value_name("unreadable");
    int64_t shown = 0;
    while (shown < n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const int64_t now = done.load();
      if (now != shown && progress.due(now))
        progress.update(now, now, static_cast<double>(unreadable.load()), now);
      shown = now;
    }
    progress.finish();
  }
  for (std::thread& t : pool)
    t.join();

  FolderImages out;
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i) {
    if (!bad[static_cast<size_t>(i)]) {
      keep.push_back(i);
      continue;
    }
    const PictureFile& file = listing.files[static_cast<size_t>(i)];
    if (!options.skip_bad) {
      throw Error("cannot read picture " + file.path +
                  (file.bytes == 0 ? " (an empty file)" : " (not a picture OpenCV can decode)") +
                  "; remove it, or pass --skip-bad to leave such files out");
    }
    ++out.skipped;
  }
  if (keep.empty()) throw Error(listing.dir + ": none of its pictures could be read");
  const cv::Mat& first = images[static_cast<size_t>(keep.front())];
  bool any_colour = false;
  for (int64_t i : keep) {
    const cv::Mat& image = images[static_cast<size_t>(i)];
    any_colour = any_colour || image.channels() == 3;
    if (image.rows != first.rows || image.cols != first.cols) {
      throw Error(
          "pictures of different sizes: " + listing.files[static_cast<size_t>(keep.front())].path +
          " is " + std::to_string(first.cols) + "x" + std::to_string(first.rows) + ", " +
          listing.files[static_cast<size_t>(i)].path + " is " + std::to_string(image.cols) + "x" +
          std::to_string(image.rows) +
          " (width x height); give --image-size to bring them to one size");
    }
  }
  const bool rgb =
      options.color == ColorMode::kRgb || (options.color == ColorMode::kAuto && any_colour);
  const int64_t c = rgb ? 3 : 1, h = first.rows, w = first.cols;
  torch::Tensor pixels = torch::empty({static_cast<int64_t>(keep.size()), c, h, w}, torch::kUInt8);
  torch::Tensor labels = torch::empty({static_cast<int64_t>(keep.size())}, torch::kUInt8);
  for (size_t j = 0; j < keep.size(); ++j) {
    const size_t k = static_cast<size_t>(keep[j]);
    cv::Mat image = images[k];
    if (rgb) {
      cv::cvtColor(image, image, image.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
    } else if (image.channels() == 3) {
      cv::cvtColor(image, image, cv::COLOR_BGR2GRAY);
    }
    image = image.isContinuous() ? image : image.clone();
    // OpenCV's H x W x C rows into the tensor's C x H x W planes.
    const torch::Tensor hwc =
        torch::from_blob(image.data, {h, w, c}, torch::kUInt8).permute({2, 0, 1});
    pixels[static_cast<int64_t>(j)].copy_(hwc);
    labels[static_cast<int64_t>(j)] = listing.files[k].label;
    images[k].release();
  }
  out.data = {pixels, labels};
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace vae
