// The conformance suite: every registered op × parameter set × device, compared with the CPU
// reference. Integer outputs must match exactly; float outputs must meet the op's NMSE bound,
// NMSE = Σ(ref−out)² / Σref²; a NaN anywhere fails; guard bytes after every output catch
// out-of-bounds writes, and outputs are pre-filled with NaN bytes so unwritten elements fail.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace pq::rt {

struct ConformanceResult {
  std::string op;
  std::string device;
  int cases = 0;
  int failed = 0;
  double worst_nmse = 0.0;  // over float outputs
  bool exact_outputs = false;
  std::vector<std::string> failures;  // "case [7]: output 0: NMSE 3e-5 > 1e-7"
  bool passed() const { return failed == 0; }
};

struct ConformanceOptions {
  std::string op_pattern = "*";  // shell wildcard over op names
  std::function<void(const ConformanceResult&)> on_result;
};

// Runs every matching op on every device in `devices` (the CPU device is skipped: it is the reference).
std::vector<ConformanceResult> run_conformance(const std::vector<Device>& devices, const ConformanceOptions& options);

// NMSE of `out` against `ref` (both float); infinity when `out` has a NaN or inf.
double normalized_mse(const Tensor& ref, const Tensor& out);

// The report table: op, device, cases, worst NMSE, result.
std::string format_conformance_table(const std::vector<ConformanceResult>& results);

}  // namespace pq::rt
