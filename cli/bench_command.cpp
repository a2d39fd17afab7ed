#include "cli/bench_command.h"

#include <cstdio>
#include <iostream>

#include "host/atomic_file.h"
#include "host/models/architecture.h"
#include "host/nn/pretrained.h"
#include "runtime/benchmark.h"
#include "runtime/model/model_bench.h"

namespace pq::cli {

namespace {

void run_model_bench(const BenchArgs& args) {
  nn::Model model = nn::load_pretrained(*args.model);
  const std::vector<std::string> specs = args.devices.empty() ? rt::available_device_ids(args.include_cpu) : args.devices;
  if (specs.empty()) throw std::runtime_error("no device to benchmark (see `portaquant devices`)");
  rt::model::ModelBenchOptions options{args.prompt_tokens, args.gen_tokens, args.repetitions,
                                       [](const std::string& s) { std::fprintf(stderr, "bench %s\n", s.c_str()); }};
  rt::model::ModelBenchReport report;
  report.model = *args.model;
  const std::string arch = models::describe_architecture(model.config, *args.model + "/config.json");
  report.description = arch.substr(0, arch.find(':')) + ", " + rt::model::quantization_summary(model);
  for (const auto& spec : specs) {
    for (auto& row : rt::model::bench_model(model, rt::Device::open(spec), options)) report.rows.push_back(std::move(row));
  }
  report.peak_rss_bytes = rt::model::peak_rss_bytes();
  std::cout << rt::model::model_bench_table(report);
  if (args.json_path) write_file_atomically(*args.json_path, rt::model::model_bench_json(report));
}

std::vector<rt::BenchMode> bench_modes(const std::string& mode) {
  if (mode == "hot") return {rt::BenchMode::Hot};
  if (mode == "cold") return {rt::BenchMode::Cold};
  if (mode == "both") return {rt::BenchMode::Hot, rt::BenchMode::Cold};
  throw std::invalid_argument("--mode must be hot, cold or both, got '" + mode + "'");
}

}  // namespace

void run_bench(const BenchArgs& args) {
  if (args.model) return run_model_bench(args);
  const std::vector<std::string> specs = args.devices.empty() ? rt::available_device_ids(false) : args.devices;
  if (specs.empty()) throw std::runtime_error("no OpenCL or Vulkan device to benchmark (see `portaquant devices`)");
  rt::BenchOptions options;
  options.case_pattern = args.case_pattern;
  options.modes = bench_modes(args.mode);
  if (args.repetitions_given) options.repetitions = args.repetitions;
  if (options.repetitions < 1) throw std::invalid_argument("--repetitions must be >= 1");
  if (args.quick) {
    options.m = 1024;
    options.k = 1024;
    options.gemm_rows = 64;
    options.rotate_bytes = uint64_t{64} << 20;
    options.min_seconds = 0.1;
  }
  std::vector<rt::BenchResult> all;
  for (const auto& spec : specs) {
    const rt::Device device = rt::Device::open(spec);
    options.on_progress = [&](const std::string& name) { std::fprintf(stderr, "bench %s: %s\n", spec.c_str(), name.c_str()); };
    const auto results = rt::run_benchmarks(device, options);
    all.insert(all.end(), results.begin(), results.end());
  }
  std::cout << "m=" << options.m << " k=" << options.k << ", GEMM n=" << options.gemm_rows << "; hot: one weight copy, "
            << "cold: copies rotating through " << (options.rotate_bytes >> 20) << " MiB; " << options.repetitions
            << " repetitions of >= " << options.min_seconds << " s each (mean ± stddev)\n\n"
            << rt::format_bench_table(all);
  if (args.json_path) write_file_atomically(*args.json_path, rt::bench_results_json(all, options));
}

}  // namespace pq::cli
