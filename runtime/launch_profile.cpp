#include "runtime/launch_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace pq::rt {
namespace {

struct Entry {
  int calls = 0;
  double seconds = 0;
};

class Profile {
 public:
  ~Profile() {
    if (entries_.empty()) return;
    std::vector<std::pair<std::string, Entry>> rows(entries_.begin(), entries_.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (const auto& [name, e] : rows) total += e.seconds;
    std::fprintf(stderr, "portaquant profile: %.1f ms in launches (each waited for)\n%-28s %8s %10s %9s %6s\n", total * 1e3,
                 "kernel", "calls", "total ms", "mean ms", "share");
    for (const auto& [name, e] : rows) {
      std::fprintf(stderr, "%-28s %8d %10.2f %9.4f %5.1f%%\n", name.c_str(), e.calls, e.seconds * 1e3,
                   e.seconds * 1e3 / e.calls, 100.0 * e.seconds / total);
    }
  }
  void add(const std::string& kernel, double seconds) {
    std::lock_guard lock(mutex_);
    Entry& e = entries_[kernel];
    ++e.calls;
    e.seconds += seconds;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

Profile& profile() {
  static Profile p;
  return p;
}

}  // namespace

bool launch_profiling() {
  static const bool on = [] {
    const char* env = std::getenv("PORTAQUANT_PROFILE");
    return env && *env && std::string(env) != "0";
  }();
  return on;
}

void record_launch_time(const std::string& kernel, double seconds) { profile().add(kernel, seconds); }

}  // namespace pq::rt
