#include "host/interrupt_cleanup.h"

#include <pthread.h>
#include <signal.h>

#include <mutex>
#include <set>
#include <system_error>
#include <thread>

namespace pq {
namespace fs = std::filesystem;
namespace {

struct Registry {
  std::mutex mutex;
  std::multiset<fs::path> paths;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: the signal thread may use it at exit
  return *r;
}

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// The main thread may still be writing into a directory while it is removed; a few rounds
// catch files created meanwhile (what remains is cleaned as stale by the next run).
void remove_registered_paths() {
  const std::lock_guard lock(registry().mutex);
  for (int round = 0; round < 3; ++round) {
    for (const fs::path& path : registry().paths) {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  }
}

void wait_for_interrupts() {
  const sigset_t set = interrupt_signals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  remove_registered_paths();
  // Die of the signal with its default action, as without this handler.
  ::signal(signal, SIG_DFL);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(signal);
}

}  // namespace

RemoveOnInterrupt::RemoveOnInterrupt(fs::path path) : path_(std::move(path)) {
  const std::lock_guard lock(registry().mutex);
  registry().paths.insert(path_);
}

RemoveOnInterrupt::~RemoveOnInterrupt() {
  const std::lock_guard lock(registry().mutex);
  registry().paths.erase(registry().paths.find(path_));
}

void install_interrupt_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    const sigset_t set = interrupt_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(wait_for_interrupts).detach();
  });
}

}  // namespace pq
