// Device benchmarks without the CLI: the same cases as `portaquant bench`.
//   build/bench/bench_runtime [DEVICE...]
#include <iostream>

#include "runtime/benchmark.h"

int main(int argc, char** argv) {
  try {
    std::vector<pq::rt::BenchResult> all;
    std::vector<std::string> devices(argv + 1, argv + argc);
    if (devices.empty()) devices = pq::rt::available_device_ids(false);
    for (const auto& spec : devices) {
      const auto results = pq::rt::run_benchmarks(pq::rt::Device::open(spec), {});
      all.insert(all.end(), results.begin(), results.end());
    }
    std::cout << pq::rt::format_bench_table(all) << "\n" << pq::rt::bench_results_json(all) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_runtime: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
