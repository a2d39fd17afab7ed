#include "host/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace pq {
namespace {

std::atomic<int> g_threads{0};

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

void set_num_threads(int threads) { g_threads = threads < 0 ? 0 : threads; }

int num_threads() {
  const int t = g_threads.load();
  return t > 0 ? t : hardware_threads();
}

void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (count <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t workers = std::min<int64_t>(num_threads(), (count + grain - 1) / grain);
  if (workers <= 1) {
    body(0, count);
    return;
  }
  const int64_t chunk = (count + workers - 1) / workers;
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](int64_t begin) {
    try {
      body(begin, std::min(count, begin + chunk));
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int64_t w = 1; w < workers; ++w) threads.emplace_back(run, w * chunk);
  run(0);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace pq
