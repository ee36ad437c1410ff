// Crash-safe file output: data goes to a temporary file in the destination's
// directory, is flushed to disk, and is renamed over the destination. A reader
// (or a run killed half-way) sees either the old file or the new one, never a
// torn one.
#pragma once

#include <string>

namespace vae {

// Writes `contents` to `path` atomically. Throws vae::Error naming the path on
// any failure (missing directory, read-only directory, disk full); the previous
// file at `path`, if any, is left intact.
void write_file_atomically(const std::string& path, const std::string& contents);

// Reads a whole file. Throws vae::Error naming the path if it cannot be read.
std::string read_file(const std::string& path);

// Removes the temporary files (NAME.tmp.PID) that writers killed mid-write
// left in `dir` and its subdirectories, when their process no longer runs.
// Returns how many were removed.
int remove_stale_temporaries(const std::string& dir);

// Creates `dir` and its parents if needed. Throws vae::Error on failure.
void create_directories(const std::string& dir);

}  // namespace vae
