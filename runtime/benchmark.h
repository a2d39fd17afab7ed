// Device benchmarks: copy bandwidth, weight-only linear GEMV (n=1) and GEMM (n=512) for each
// weight qtype, the float GEMV/GEMM on the same shapes, and W8A8 GEMM. Each case is recorded
// once as a plan per weight copy and replayed; the weights rotate through enough copies to
// exceed the last-level cache, so GB/s is memory bandwidth, not cache bandwidth.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace pq::rt {

struct BenchOptions {
  int64_t m = 4096;                       // output features
  int64_t k = 14336;                      // input features
  int64_t gemm_rows = 512;                // n of the GEMM cases
  uint64_t rotate_bytes = uint64_t{512} << 20;  // weight bytes cycled through per case (> the 256 MiB LLC seen here)
  double min_seconds = 0.5;               // time each case at least this long
  std::string case_pattern = "*";
  std::function<void(const std::string&)> on_progress;
};

struct BenchResult {
  std::string device;
  std::string name;          // "linear qint4 gemv n=1"
  double milliseconds = 0;   // per run
  double weight_gbps = 0;    // weight (or copied) bytes per second, 1e9
  double gflops = 0;         // 2·n·m·k per second, 1e9 (0 for copies)
  int weight_copies = 1;
};

std::vector<BenchResult> run_benchmarks(const Device& device, const BenchOptions& options);
std::string format_bench_table(const std::vector<BenchResult>& results);
std::string bench_results_json(const std::vector<BenchResult>& results);

}  // namespace pq::rt
