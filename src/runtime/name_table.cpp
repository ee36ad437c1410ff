#include "vae/runtime/name_table.h"

namespace vae {

std::string or_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::string bar_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names)
    out += (out.empty() ? "" : " | ") + name;
  return out;
}

Error unknown_name(const std::string& flag, const std::vector<std::string>& names,
                   const std::string& got) {
  return Error(flag + " must be " + or_list(names) + ", not '" + got + "'");
}

}  // namespace vae
