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

struct Replays {
  int count = 0;
  size_t launches = 0;
  double wall = 0, device = 0;
};

using Key = std::pair<std::string, std::string>;  // device, kernel

double total_seconds(const std::map<Key, Entry>& entries, const std::string& device) {
  double total = 0;
  for (const auto& [key, e] : entries) total += key.first == device ? e.seconds : 0;
  return total;
}

// One device's rows, slowest kernel first, shares of that device's total.
void print_table(const std::map<Key, Entry>& entries, const std::string& device, const char* time_column) {
  std::vector<std::pair<std::string, Entry>> rows;
  for (const auto& [key, e] : entries) {
    if (key.first == device) rows.emplace_back(key.second, e);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  const double total = total_seconds(entries, device);
  std::fprintf(stderr, "%-28s %8s %10s %9s %6s\n", "kernel", "calls", time_column, "mean ms", "share");
  for (const auto& [name, e] : rows) {
    std::fprintf(stderr, "%-28s %8d %10.2f %9.4f %5.1f%%\n", name.c_str(), e.calls, e.seconds * 1e3,
                 e.seconds * 1e3 / e.calls, 100.0 * e.seconds / total);
  }
}

std::vector<std::string> devices_of(const std::map<Key, Entry>& entries) {
  std::vector<std::string> devices;
  for (const auto& [key, e] : entries) {
    if (devices.empty() || devices.back() != key.first) devices.push_back(key.first);
  }
  return devices;
}

class Profile {
 public:
  ~Profile() {
    for (const std::string& device : devices_of(eager_)) {
      std::fprintf(stderr, "portaquant profile, %s: %.1f ms in eager launches (each waited for)\n", device.c_str(),
                   total_seconds(eager_, device) * 1e3);
      print_table(eager_, device, "total ms");
    }
    for (const auto& [device, r] : replays_) {
      std::fprintf(stderr,
                   "portaquant profile, %s: %d replays of recorded plans, %zu launches: %.1f ms wall, %.1f ms of it in "
                   "launches as the device timed them (%.0f%%), %.1f ms around them (%.1f us per launch)\n",
                   device.c_str(), r.count, r.launches, r.wall * 1e3, r.device * 1e3, 100.0 * r.device / r.wall,
                   (r.wall - r.device) * 1e3, (r.wall - r.device) * 1e6 / static_cast<double>(std::max<size_t>(r.launches, 1)));
      print_table(planned_, device, "device ms");
    }
  }
  void add_eager(const Key& key, double seconds) { add(eager_, key, seconds); }
  void add_planned(const Key& key, double seconds) { add(planned_, key, seconds); }
  void add_replay(const std::string& device, size_t launches, double wall, double on_device) {
    std::lock_guard lock(mutex_);
    Replays& r = replays_[device];
    ++r.count;
    r.launches += launches;
    r.wall += wall;
    r.device += on_device;
  }

 private:
  void add(std::map<Key, Entry>& entries, const Key& key, double seconds) {
    std::lock_guard lock(mutex_);
    Entry& e = entries[key];
    ++e.calls;
    e.seconds += seconds;
  }

  std::mutex mutex_;
  std::map<Key, Entry> eager_, planned_;
  std::map<std::string, Replays> replays_;
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

void record_launch_time(const std::string& device, const std::string& kernel, double seconds) {
  profile().add_eager({device, kernel}, seconds);
}

void record_plan_launch_time(const std::string& device, const std::string& kernel, double seconds) {
  profile().add_planned({device, kernel}, seconds);
}

void record_plan_replay(const std::string& device, size_t launches, double wall_seconds, double device_seconds) {
  profile().add_replay(device, launches, wall_seconds, device_seconds);
}

}  // namespace pq::rt
