// The subcommands of `vae`, one function each: argc/argv start at the
// subcommand's name; the return value is the exit code. The table in
// cli.cpp maps names to them and writes the usage text.
#pragma once

#include <string>

namespace vae::cli {

int train_command(int argc, char** argv);
// sample, reconstruct, interpolate, traverse, manifold, scatter.
int view_command(const std::string& name, int argc, char** argv);
int export_command(int argc, char** argv);
int encode_command(int argc, char** argv);
int generate_command(int argc, char** argv);
int eval_command(int argc, char** argv);
int score_command(int argc, char** argv);
int ood_command(int argc, char** argv);
int calibrate_command(int argc, char** argv);
int bench_command(int argc, char** argv);

}  // namespace vae::cli
