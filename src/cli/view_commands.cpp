// The pictures of a trained model: sample, reconstruct, interpolate,
// traverse, manifold, scatter (model_views.h draws them).
#include <iostream>
#include <map>

#include "command_line.h"
#include "commands.h"
#include "vae/views/model_views.h"

namespace vae::cli {
namespace {

// Model settings a picture command may state; a checkpoint that disagrees is
// refused (a picture of another model than the user thinks is worse than none).
const std::vector<std::string> kModelKeys = {"arch",      "hidden", "channels",  "latent-dim",
                                             "posterior", "prior",  "likelihood"};

const std::map<std::string, std::string>& descriptions() {
  static const std::map<std::string, std::string> text = {
      {"sample", "Decode samples z ~ N(0, T^2 I) into an image grid."},
      {"reconstruct",
       "Test images and their reconstructions (decoded posterior means), "
       "in paired rows."},
      {"interpolate",
       "Decode the line (or, with --spherical, the great circle) between the "
       "posterior means of two test images."},
      {"traverse",
       "One row per latent dimension, ordered by KL, sweeping it over "
       "[-range, range] with the others at a test image's posterior mean; "
       "inactive dimensions are marked 'off'."},
      {"manifold",
       "The decoded grid over the Gaussian inverse CDF of the two most "
       "informative latent dimensions (Kingma & Welling 2013, fig. 4)."},
      {"scatter", "The test set's posterior means as points coloured by digit label."},
      {"pseudo-inputs",
       "The VampPrior's learned pseudo-inputs, each row followed by their reconstructions."}};
  return text;
}

void add_common_options(cxxopts::Options& options, const std::string& name) {
  options.add_options("common")("checkpoint", "checkpoint of a trained run",
                                cxxopts::value<std::string>())(
      "out", "PNG file to write", cxxopts::value<std::string>()->default_value(name + ".png"))(
      "seed", "random seed", cxxopts::value<int64_t>()->default_value("1"))(
      "data-dir", "test data (default: the run's --data-dir)",
      cxxopts::value<std::string>()->default_value(""))(
      "device", device_choices().choices(), cxxopts::value<std::string>()->default_value("auto"))(
      "h,help", "show this help");
  add_grid_options(options);
  auto model = options.add_options("model check (refuse a checkpoint that differs)");
  model("arch", bar_list(architectures().names()), cxxopts::value<std::string>())(
      "hidden", "hidden sizes", cxxopts::value<std::vector<int64_t>>())(
      "channels", "conv channels", cxxopts::value<std::vector<int64_t>>())(
      "latent-dim", "latent dimensions", cxxopts::value<int64_t>())(
      "posterior", bar_list(posteriors().names()), cxxopts::value<std::string>())(
      "prior", bar_list(priors().names()), cxxopts::value<std::string>())(
      "likelihood", bar_list(likelihoods().names()), cxxopts::value<std::string>());
}

void add_own_options(cxxopts::Options& options, const std::string& name) {
  auto own = options.add_options(name);
  if (name == "sample") {
    own("n", "number of samples", cxxopts::value<int64_t>()->default_value("64"))(
        "mode", sample_modes().choices(), cxxopts::value<std::string>()->default_value("mean"))(
        "temperature", "scale of the prior's standard deviation",
        cxxopts::value<double>()->default_value("1.0"));
  } else if (name == "reconstruct") {
    own("n", "number of test images", cxxopts::value<int64_t>()->default_value("32"))(
        "first", "index of the first test image", cxxopts::value<int64_t>()->default_value("0"))(
        "labels", "label the rows (test / recon)");
  } else if (name == "interpolate") {
    own("from", "test image index", cxxopts::value<int64_t>()->default_value("0"))(
        "to", "test image index", cxxopts::value<int64_t>()->default_value("1"))(
        "steps", "decoded points", cxxopts::value<int64_t>()->default_value("10"))(
        "spherical", "spherical interpolation (slerp)");
  } else if (name == "traverse") {
    own("index", "test image whose posterior mean is the centre",
        cxxopts::value<int64_t>()->default_value("0"))(
        "steps", "points per row", cxxopts::value<int64_t>()->default_value("9"))(
        "range", "sweep from -range to +range", cxxopts::value<double>()->default_value("3.0"));
  } else if (name == "manifold") {
    own("n", "grid side", cxxopts::value<int64_t>()->default_value("20"));
  } else if (name == "pseudo-inputs") {
    own("n", "number of pseudo-inputs", cxxopts::value<int64_t>()->default_value("32"));
  } else if (name == "scatter") {
    own("pca", "plot the first two principal components of the means")(
        "size", "plot width and height in pixels", cxxopts::value<int64_t>()->default_value("800"));
  }
  if (name == "traverse" || name == "manifold" || name == "scatter") {
    own("layer", "latent layer of a hierarchy, 1 = bottom (default: the top)",
        cxxopts::value<int64_t>()->default_value("0"));
  }
}

// The model settings given for the check, as JSON.
json expected_model(const cxxopts::ParseResult& result) {
  json expected = json::object();
  for (const std::string& key : kModelKeys) {
    if (result.count(key) == 0) continue;
    if (key == "hidden" || key == "channels") {
      expected[key] = result[key].as<std::vector<int64_t>>();
    } else if (key == "latent-dim") {
      expected[key] = result[key].as<int64_t>();
    } else {
      expected[key] = result[key].as<std::string>();
    }
  }
  return expected;
}

// The pictures that show test images.
cv::Mat draw_test_view(const std::string& name, const cxxopts::ParseResult& result,
                       TrainedModel& trained, GridOptions grid) {
  const ImageDataset data = load_test_images(trained, result["data-dir"].as<std::string>());
  if (name == "reconstruct") {
    const int64_t first = image_index(result, "first", data.size());
    const int64_t n = std::min(positive<int64_t>(result, "n", 1), data.size() - first);
    if (result.count("labels")) {
      grid.label_width = 70;
      for (int64_t row = 0; row < n; row += grid.columns) {
        grid.row_labels.push_back("test");
        grid.row_labels.push_back("recon");
      }
    }
    return reconstruction_view(trained, data.images.narrow(0, first, n), grid);
  }
  if (name == "interpolate") {
    return interpolation_view(trained, data.images[image_index(result, "from", data.size())],
                              data.images[image_index(result, "to", data.size())],
                              positive<int64_t>(result, "steps", 2), result.count("spherical") > 0,
                              grid);
  }
  if (name == "traverse") {
    return traversal_view(trained, data.images[image_index(result, "index", data.size())],
                          positive<int64_t>(result, "steps", 2), result["range"].as<double>(), grid,
                          result["layer"].as<int64_t>());
  }
  return scatter_view(trained, data, result.count("pca") > 0,
                      static_cast<int>(positive<int64_t>(result, "size", 300)),
                      result["layer"].as<int64_t>());
}

}  // namespace

int view_command(const std::string& name, int argc, char** argv) {
  cxxopts::Options options("vae " + name, descriptions().at(name));
  add_common_options(options, name);
  add_own_options(options, name);
  const auto result = parse_command(options, argc, argv);
  if (!result) return 0;
  require_flag(*result, "checkpoint",
               "vae " + name + " needs --checkpoint runs/NAME/checkpoint.pt");
  GridOptions grid = grid_options(*result);
  const int64_t seed = positive<int64_t>(*result, "seed", 0);
  const std::string out = (*result)["out"].as<std::string>();
  TrainedModel trained =
      load_trained_model((*result)["checkpoint"].as<std::string>(), expected_model(*result),
                         (*result)["device"].as<std::string>());
  grid.stretch = trained.config.network.likelihood()->counts();
  cv::Mat image;
  if (name == "sample") {
    image = sample_view(
        trained, positive<int64_t>(*result, "n", 1), (*result)["temperature"].as<double>(),
        parse_sample_mode((*result)["mode"].as<std::string>()), static_cast<uint64_t>(seed), grid);
  } else if (name == "manifold") {
    image = manifold_view(trained, positive<int64_t>(*result, "n", 1), grid,
                          (*result)["layer"].as<int64_t>());
  } else if (name == "pseudo-inputs") {
    image = pseudo_input_view(trained, positive<int64_t>(*result, "n", 1), grid);
  } else {
    image = draw_test_view(name, *result, trained, grid);
  }
  write_png(out, image);
  std::cout << "wrote " << out << " (" << image.cols << "x" << image.rows << ")\n";
  return 0;
}

}  // namespace vae::cli
