#include "vae/data/image_input.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vae/data/idx_reader.h"
#include "vae/data/image_folder.h"
#include "vae/runtime/error.h"

namespace vae {

namespace fs = std::filesystem;

const NameTable<Invert>& invert_modes() {
  static const NameTable<Invert> table(
      "--invert", {{Invert::kAuto, "auto", "dark-on-light pictures are inverted"},
                   {Invert::kAlways, "always"},
                   {Invert::kNever, "never"}});
  return table;
}

Invert parse_invert(const std::string& name) {
  return invert_modes().parse(name);
}

std::vector<InputItem> expand_inputs(const std::vector<std::string>& inputs, int64_t height,
                                     int64_t width) {
  std::vector<InputItem> items;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<std::string> files;
      for (const auto& entry : fs::directory_iterator(input)) {
        if (entry.is_regular_file() && is_picture_file(entry.path().string()))
          files.push_back(entry.path().string());
      }
      if (files.empty()) throw Error("directory " + input + " holds no picture files");
      std::sort(files.begin(), files.end());
      for (const std::string& file : files)
        items.push_back({file, file, -1, {}});
    } else if (!fs::exists(input, ec)) {
      throw Error("cannot read input " + input + ": no such file or directory");
    } else if (is_picture_file(input)) {
      items.push_back({input, input, -1, {}});
    } else {
      const IdxArray array = read_idx(input);
      if (array.dims.size() != 3 || array.dims[1] != height || array.dims[2] != width) {
        std::string dims;
        for (int64_t d : array.dims)
          dims += (dims.empty() ? "" : "x") + std::to_string(d);
        throw Error(input + ": IDX images of " + dims + ", the model takes N x " +
                    std::to_string(height) + "x" + std::to_string(width));
      }
      for (int64_t i = 0; i < array.dims[0]; ++i) {
        items.push_back({input + "#" + std::to_string(i), input, i, array.data});
      }
    }
  }
  return items;
}

torch::Tensor read_picture(const std::string& path, int64_t height, int64_t width, Invert invert,
                           int64_t channels) {
  cv::Mat image;
  try {
    image = cv::imread(path, channels == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    // OpenCV refuses some headers by throwing (e.g. sizes beyond its
    // limits), found by fuzzing.
    throw Error("cannot read image " + path + " (" + e.err + ")");
  }
  if (image.empty())
    throw Error("cannot read image " + path + " (missing, or not a picture OpenCV can decode)");
  if (channels == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  if (image.rows != height || image.cols != width) {
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(static_cast<int>(width), static_cast<int>(height)), 0, 0,
               cv::INTER_AREA);
    image = resized;
  }
  const cv::Scalar means = cv::mean(image);
  const double mean = channels == 3 ? (means[0] + means[1] + means[2]) / 3.0 : means[0];
  const bool flip = invert == Invert::kAlways || (invert == Invert::kAuto && mean > 127.5);
  if (flip) cv::bitwise_not(image, image);
  const torch::Tensor hwc =
      torch::from_blob(image.data, {height, width, channels}, torch::kUInt8).clone();
  // [H, W] grey, [3, H, W] colour (the model's planes).
  return channels == 3 ? hwc.permute({2, 0, 1}).contiguous() : hwc.squeeze(2);
}

torch::Tensor load_item(const InputItem& item, int64_t height, int64_t width, Invert invert,
                        int64_t channels) {
  if (item.index >= 0) {
    const torch::Tensor grey = item.idx_images[item.index];
    return channels == 3 ? grey.unsqueeze(0).repeat({3, 1, 1}) : grey;
  }
  return read_picture(item.path, height, width, invert, channels);
}

}  // namespace vae
