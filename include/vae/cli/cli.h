// The `vae` command line: subcommand dispatch and flag parsing.
#pragma once

namespace vae {

// Runs `vae <subcommand> [flags]`. Returns the process exit code: 0 on
// success, 1 for a failure at run time, 2 for bad usage. Every error is
// printed to stderr as one line starting with "vae: error: ".
int run_cli(int argc, char** argv);

}  // namespace vae
