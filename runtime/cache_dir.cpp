#include "runtime/cache_dir.h"

#include <cstdlib>

namespace pq::rt {
namespace {

const char* nonempty_env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

std::optional<std::filesystem::path> kernel_cache_dir(std::string_view api_subfolder) {
  std::filesystem::path root;
  if (const char* dir = nonempty_env("PORTAQUANT_CACHE_DIR")) {
    root = dir;
  } else if (const char* xdg = nonempty_env("XDG_CACHE_HOME")) {
    root = std::filesystem::path(xdg) / "portaquant";
  } else if (const char* home = nonempty_env("HOME")) {
    root = std::filesystem::path(home) / ".cache" / "portaquant";
  } else {
    return std::nullopt;
  }
  return root / api_subfolder;
}

}  // namespace pq::rt
