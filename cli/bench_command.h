// `portaquant bench`: device benchmarks as a Markdown table, and JSON on request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pq::cli {

struct BenchArgs {
  std::vector<std::string> devices;  // empty: every OpenCL and Vulkan device
  std::string case_pattern = "*";
  std::optional<std::string> json_path;
  bool quick = false;  // smaller shapes (m=k=1024, GEMM n=64) for a fast look
  std::string mode = "both";  // op cases: hot, cold or both (see runtime/benchmark.h)
  bool repetitions_given = false;  // -r given: op cases use it too
  // --model: the end-to-end benchmark of a decoder directory instead of the op cases.
  std::optional<std::string> model;
  int64_t prompt_tokens = 512;
  int64_t gen_tokens = 128;
  int repetitions = 5;
  bool include_cpu = false;  // --model: also the CPU reference (slow)
};

void run_bench(const BenchArgs& args);

}  // namespace pq::cli
