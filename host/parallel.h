// Splits index ranges over worker threads. The count is process-wide so benchmarks and the CLI
// can pin it; the default is the hardware concurrency.
#pragma once

#include <cstdint>
#include <functional>

namespace pq {

void set_num_threads(int threads);  // 0 = hardware concurrency
int num_threads();

// Calls body(begin, end) on disjoint chunks covering [0, count). Chunks are at least `grain`
// long; exceptions from workers are rethrown on the caller's thread.
void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace pq
