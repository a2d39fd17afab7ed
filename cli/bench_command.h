// `portaquant bench`: device benchmarks as a Markdown table, and JSON on request.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pq::cli {

struct BenchArgs {
  std::vector<std::string> devices;  // empty: every OpenCL and Vulkan device
  std::string case_pattern = "*";
  std::optional<std::string> json_path;
  bool quick = false;  // smaller shapes (m=k=1024, GEMM n=64) for a fast look
};

void run_bench(const BenchArgs& args);

}  // namespace pq::cli
