// include/exclude patterns matched against module names as optimum-quanto matches them:
// shell wildcards (fnmatch without flags, so '*' also matches '.').
#pragma once

#include <string>
#include <vector>

namespace pq {

bool matches_any(const std::string& name, const std::vector<std::string>& patterns);
// Included when `include` is empty or matches, and `exclude` does not match.
bool module_selected(const std::string& name, const std::vector<std::string>& include,
                     const std::vector<std::string>& exclude);

}  // namespace pq
