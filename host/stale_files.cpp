#include "host/stale_files.h"

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <string>
#include <system_error>
#include <vector>

namespace pq {
namespace fs = std::filesystem;
namespace {

bool process_is_gone(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

}  // namespace

void remove_stale_siblings(const fs::path& target, const char* tag) {
  const std::string prefix = "." + target.filename().string() + tag;
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::vector<fs::path> stale;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    long pid = 0;
    const auto [after, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (error != std::errc() || after == rest.data() + rest.size() || *after != '.') continue;
    if (process_is_gone(pid)) stale.push_back(it->path());
  }
  for (const fs::path& path : stale) {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
}

}  // namespace pq
