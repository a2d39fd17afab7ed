#include "cli/bench_command.h"

#include <cstdio>
#include <iostream>

#include "host/atomic_file.h"
#include "runtime/benchmark.h"

namespace pq::cli {

void run_bench(const BenchArgs& args) {
  const std::vector<std::string> specs = args.devices.empty() ? rt::available_device_ids(false) : args.devices;
  if (specs.empty()) throw std::runtime_error("no OpenCL or Vulkan device to benchmark (see `portaquant devices`)");
  rt::BenchOptions options;
  options.case_pattern = args.case_pattern;
  if (args.quick) {
    options.m = 1024;
    options.k = 1024;
    options.gemm_rows = 64;
    options.rotate_bytes = uint64_t{64} << 20;
    options.min_seconds = 0.2;
  }
  std::vector<rt::BenchResult> all;
  for (const auto& spec : specs) {
    const rt::Device device = rt::Device::open(spec);
    options.on_progress = [&](const std::string& name) { std::fprintf(stderr, "bench %s: %s\n", spec.c_str(), name.c_str()); };
    const auto results = rt::run_benchmarks(device, options);
    all.insert(all.end(), results.begin(), results.end());
  }
  std::cout << "m=" << options.m << " k=" << options.k << ", GEMM n=" << options.gemm_rows
            << "; weights rotate through " << (options.rotate_bytes >> 20) << " MiB of copies\n\n"
            << rt::format_bench_table(all);
  if (args.json_path) write_file_atomically(*args.json_path, rt::bench_results_json(all));
}

}  // namespace pq::cli
