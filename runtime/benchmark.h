// Device benchmarks: copy bandwidth, weight-only linear GEMV (n=1) and GEMM (n=512) for each
// weight qtype, the float GEMV/GEMM on the same shapes, and W8A8 GEMV/GEMM. Each case is
// recorded once as a plan per weight copy and replayed, in two modes:
//   hot:  one copy of the weights, replayed again and again (ggml's test-backend-ops perf);
//   cold: copies rotating through more bytes than the last-level cache holds, so GB/s is
//         memory bandwidth, not cache bandwidth.
// Each mode runs `repetitions` timed batches; a result is their mean ± sample stddev.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace pq::rt {

enum class BenchMode { Hot, Cold };

uint64_t host_last_level_cache_bytes();  // the CPU's largest cache level (sysfs, else sysconf); 0 where unknown
// Cold mode's traffic per case: 4× the host's last-level cache, at least 512 MiB (hosts of this
// project's figures report 32 to 480 MiB, and pocl and lavapipe run from the host's memory).
uint64_t default_rotate_bytes();

struct BenchOptions {
  int64_t m = 4096;                       // output features
  int64_t k = 14336;                      // input features
  int64_t gemm_rows = 512;                // n of the GEMM cases
  uint64_t rotate_bytes = default_rotate_bytes();  // cold: weight bytes cycled through per case
  double min_seconds = 0.25;              // each repetition runs at least this long
  int repetitions = 5;
  std::vector<BenchMode> modes = {BenchMode::Hot, BenchMode::Cold};
  std::string case_pattern = "*";
  std::function<void(const std::string&)> on_progress;
};

struct BenchResult {
  std::string device;        // "opencl:0"
  std::string device_name;   // DeviceInfo::description(): name, API version, driver, kernel tiers
  std::string name;          // "linear qint4 gemv n=1"
  std::string op;            // the registry op it runs
  int64_t n = 0, m = 0, k = 0;
  BenchMode mode = BenchMode::Hot;
  int weight_copies = 1;
  int repetitions = 0;
  int runs = 0;              // timed runs over all repetitions
  double milliseconds = 0;   // per run: mean over repetitions
  double stddev_ms = 0;      // sample stddev over repetitions
  double cpu_milliseconds = 0;  // process CPU time per run (CPU devices: less sensitive to other load)
  double weight_gbps = 0;    // weight (or copied) bytes per second, 1e9
  double gflops = 0;         // 2·n·m·k per second, 1e9 (0 for copies)
  double load_average = 0;   // 1-minute load average when the case started
  std::string error;         // non-empty when the case failed
};

std::vector<BenchResult> run_benchmarks(const Device& device, const BenchOptions& options);
std::string format_bench_table(const std::vector<BenchResult>& results);
std::string bench_results_json(const std::vector<BenchResult>& results, const BenchOptions& options);

std::string_view bench_mode_name(BenchMode mode);  // "hot", "cold"
double load_average_1min();                        // 0 where unknown

}  // namespace pq::rt
