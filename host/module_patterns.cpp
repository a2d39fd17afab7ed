#include "host/module_patterns.h"

#include <fnmatch.h>

namespace pq {

bool matches_any(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& pattern : patterns) {
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

bool module_selected(const std::string& name, const std::vector<std::string>& include,
                     const std::vector<std::string>& exclude) {
  return (include.empty() || matches_any(name, include)) && !matches_any(name, exclude);
}

}  // namespace pq
