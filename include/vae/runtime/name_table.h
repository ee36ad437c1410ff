// Names of enum values and of registered model parts, kept in one table per
// kind, so that parsing, printing, the error for an unknown name and the
// --help text all come from the same list (llama.cpp keeps one name table
// per enum the same way).
#pragma once

#include <string>
#include <vector>

#include "vae/runtime/error.h"

namespace vae {

// "a, b or c": the choices of a flag, for error messages.
std::string or_list(const std::vector<std::string>& names);
// "a | b | c": the choices of a flag, for --help.
std::string bar_list(const std::vector<std::string>& names);
// The error for an unknown name: "--flag must be a, b or c, not 'x'".
Error unknown_name(const std::string& flag, const std::vector<std::string>& names,
                   const std::string& got);

template <typename Enum>
struct Named {
  Enum value;
  const char* name;
  const char* help = "";  // what the value means, for --help (optional)
};

// One enum's names; `flag` is the option the names are given with.
template <typename Enum>
class NameTable {
 public:
  NameTable(std::string flag, std::vector<Named<Enum>> entries)
      : flag_(std::move(flag)), entries_(std::move(entries)) {}

  Enum parse(const std::string& name) const {
    for (const Named<Enum>& entry : entries_) {
      if (name == entry.name) return entry.value;
    }
    throw unknown_name(flag_, names(), name);
  }
  std::string name(Enum value) const {
    for (const Named<Enum>& entry : entries_) {
      if (entry.value == value) return entry.name;
    }
    throw Error("internal: " + flag_ + " has no name for value " +
                std::to_string(static_cast<int>(value)));
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Named<Enum>& entry : entries_)
      out.emplace_back(entry.name);
    return out;
  }
  // "a | b (what b means) | c" for --help.
  std::string choices() const {
    std::string out;
    for (const Named<Enum>& entry : entries_) {
      out += (out.empty() ? "" : " | ") + std::string(entry.name);
      if (entry.help[0] != '\0') out += " (" + std::string(entry.help) + ")";
    }
    return out;
  }

 private:
  std::string flag_;
  std::vector<Named<Enum>> entries_;
};

// The registered implementations of one kind of model part (posterior
// families, priors, likelihoods), each an object with name() and help().
// They live as long as the program; a configuration refers to one by pointer.
template <typename Part>
class PartTable {
 public:
  PartTable(std::string flag, std::vector<const Part*> parts)
      : flag_(std::move(flag)), parts_(std::move(parts)) {}

  const Part& get(const std::string& name) const {
    for (const Part* part : parts_) {
      if (name == part->name()) return *part;
    }
    throw unknown_name(flag_, names(), name);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Part* part : parts_)
      out.emplace_back(part->name());
    return out;
  }
  // "a (what a is) | b (what b is)" for --help.
  std::string help() const {
    std::string out;
    for (const Part* part : parts_) {
      out += (out.empty() ? "" : " | ") + std::string(part->name());
      const std::string text = part->help();
      if (!text.empty()) out += " (" + text + ")";
    }
    return out;
  }
  const std::vector<const Part*>& parts() const { return parts_; }

 private:
  std::string flag_;
  std::vector<const Part*> parts_;
};

}  // namespace vae
