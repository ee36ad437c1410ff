#include "vae/cli/cli.h"

#include <c10/util/Exception.h>
#include <torch/version.h>

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.h"
#include "commands.h"
#include "vae/runtime/interrupt.h"
#include "vae/runtime/runtime.h"

namespace vae {
namespace {

struct Subcommand {
  const char* name;
  const char* summary;  // one line of the usage text
  std::function<int(int, char**)> run;
  const char* note_after = nullptr;  // a line printed after this entry
};

const std::vector<Subcommand>& subcommands() {
  const auto view = [](const char* name) {
    return [name](int argc, char** argv) { return cli::view_command(name, argc, argv); };
  };
  static const std::vector<Subcommand> table = {
      {"train", "train a VAE on MNIST-format data (vae train --help)", cli::train_command},
      {"sample", "decode samples from the prior into an image grid", view("sample")},
      {"reconstruct", "test images and their reconstructions, in paired rows", view("reconstruct")},
      {"interpolate", "decode the path between two test images' posterior means",
       view("interpolate")},
      {"traverse", "sweep each latent dimension, most informative first", view("traverse")},
      {"manifold", "the decoded grid over the two most informative dimensions", view("manifold")},
      {"pseudo-inputs", "the VampPrior's pseudo-inputs and their reconstructions",
       view("pseudo-inputs")},
      {"scatter", "test-set posterior means coloured by digit", view("scatter"),
       "(each takes --checkpoint runs/NAME/checkpoint.pt --out FILE.png; see vae CMD --help)"},
      {"export", "write the encoder and decoder as TorchScript (encoder.pt, decoder.pt)",
       cli::export_command},
      {"encode", "posterior mean and sigma of images, with an exported encoder",
       cli::encode_command},
      {"generate", "samples from an exported decoder", cli::generate_command},
      {"eval", "test-set log p(x) by importance sampling, the ELBO and the gap", cli::eval_command},
      {"score", "per-image -ELBO and -log p(x) estimates (anomaly scores)", cli::score_command},
      {"ood", "how well anomaly scores tell two sets apart (AUROC, AUPR, FPR at 95% TPR)",
       cli::ood_command},
      {"calibrate", "simulation-based calibration and coverage of the posterior",
       cli::calibrate_command},
      {"bench", "time training, evaluation and encoding; GFLOP/s vs the matmul rate",
       cli::bench_command},
  };
  return table;
}

std::string usage() {
  std::string text = "usage: vae <command> [flags]\n\ncommands:\n";
  const auto line = [&](const std::string& name, const std::string& summary) {
    text +=
        "  " + name + std::string(name.size() < 13 ? 13 - name.size() : 1, ' ') + summary + "\n";
  };
  for (const Subcommand& command : subcommands()) {
    line(command.name, command.summary);
    if (command.note_after != nullptr) text += "  " + std::string(command.note_after) + "\n";
  }
  line("help", "show this text");
  line("version", "print the version");
  return text;
}

int dispatch(const std::string& command, int argc, char** argv) {
  for (const Subcommand& entry : subcommands()) {
    if (command == entry.name) return entry.run(argc - 1, argv + 1);
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << usage();
    return 0;
  }
  if (command == "version" || command == "--version") {
    const BlasInfo blas = detect_blas();
    std::cout << "vae " VAE_VERSION "\nLibTorch " TORCH_VERSION " | BLAS " << blas.name
              << (blas.details.empty() ? "" : " (" + blas.details + ")") << "\n";
    return 0;
  }
  std::cerr << "vae: error: "
            << (command.empty() ? "missing command" : "unknown command '" + command + "'")
            << " (try: vae help)\n";
  return 2;
}

}  // namespace

int run_cli(int argc, char** argv) {
  try {
    return dispatch(argc > 1 ? argv[1] : "", argc, argv);
  } catch (const Interrupted& e) {
    std::cerr << "vae: " << e.what() << '\n';
    return 128 + e.signal();
  } catch (const cli::UsageError& e) {
    std::cerr << "vae: error: " << e.what() << '\n';
    return 2;
  } catch (const Error& e) {
    std::cerr << "vae: error: " << e.what() << '\n';
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "vae: error: " << first_line(e.what_without_backtrace()) << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vae: error: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace vae
