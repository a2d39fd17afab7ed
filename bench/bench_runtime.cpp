// Device benchmarks without the CLI: the same cases as `portaquant bench`.
//   build/bench/bench_runtime [--case PATTERN] [--mode hot|cold|both] [-r N] [-m M] [-k K] [--gemm-rows N]
//                             [--json FILE] [DEVICE...]
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "runtime/benchmark.h"

namespace {

std::vector<pq::rt::BenchMode> modes_of(const std::string& mode) {
  if (mode == "hot") return {pq::rt::BenchMode::Hot};
  if (mode == "cold") return {pq::rt::BenchMode::Cold};
  if (mode == "both") return {pq::rt::BenchMode::Hot, pq::rt::BenchMode::Cold};
  throw std::invalid_argument("--mode must be hot, cold or both, got '" + mode + "'");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    pq::rt::BenchOptions options;
    std::vector<std::string> devices;
    std::string json_path;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--case") options.case_pattern = value();
      else if (arg == "--mode") options.modes = modes_of(value());
      else if (arg == "-r") options.repetitions = std::stoi(value());
      else if (arg == "--json") json_path = value();
      else if (arg == "-m") options.m = std::stoll(value());
      else if (arg == "-k") options.k = std::stoll(value());
      else if (arg == "--gemm-rows") options.gemm_rows = std::stoll(value());
      else devices.push_back(arg);
    }
    if (devices.empty()) devices = pq::rt::available_device_ids(false);
    std::vector<pq::rt::BenchResult> all;
    for (const auto& spec : devices) {
      const auto results = pq::rt::run_benchmarks(pq::rt::Device::open(spec), options);
      all.insert(all.end(), results.begin(), results.end());
    }
    std::cout << pq::rt::format_bench_table(all);
    if (!json_path.empty()) std::ofstream(json_path) << pq::rt::bench_results_json(all, options) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_runtime: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
