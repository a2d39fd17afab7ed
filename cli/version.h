// `portaquant --version`: the version, the git commit built from, the compiler, and the
// backends compiled in (the devices present are `portaquant devices`).
#pragma once

#include <string>

namespace pq::cli {

std::string version_text();

}  // namespace pq::cli
