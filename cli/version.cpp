#include "cli/version.h"

#include "portaquant_build_info.h"

namespace pq::cli {
namespace {

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown compiler";
#endif
}

std::string backends() {
  std::string list = "cpu (reference)";
#if defined(PORTAQUANT_HAVE_OPENCL)
  list += ", opencl";
#endif
#if defined(PORTAQUANT_HAVE_VULKAN)
  list += ", vulkan";
#endif
  return list;
}

}  // namespace

std::string version_text() {
  return std::string("portaquant ") + PORTAQUANT_VERSION + "\ngit commit: " + PORTAQUANT_GIT_COMMIT + "\ncompiler: " + compiler() +
         " (C++ " + std::to_string(__cplusplus) + ")\nbackends: " + backends();
}

}  // namespace pq::cli
