// The conformance suite: every registered op × parameter set × device, compared with the CPU
// reference. Integer outputs must match exactly; exact float outputs bit for bit (a NaN matches
// any NaN); other float outputs must have NaN where the reference has NaN and the same infinity
// where it has one, and over the finite elements meet the op's NMSE bound for the output's
// dtype, NMSE = Σ(ref−out)² / Σref². Guard bytes after every output catch out-of-bounds writes,
// and outputs are pre-filled with NaN bytes so unwritten elements fail (and, where the reference
// has a NaN, again with finite bytes).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace pq::rt {

// The worst of one op's cases of one float dtype (see case_dtype in conformance.cpp).
struct DTypeWorst {
  int cases = 0;
  bool all_exact = true;    // every output of these cases had an exact check
  double worst_nmse = 0.0;  // over their NMSE-checked outputs
};

struct ConformanceResult {
  std::string op;
  std::string device;
  int cases = 0;
  int failed = 0;
  // By the case's float dtype (F32, F16, BF16); integer-only cases count as F32.
  std::map<DType, DTypeWorst> by_dtype;
  std::vector<std::string> failures;  // "case [7]: output 0: NMSE 3e-5 > 1e-7"
  bool passed() const { return failed == 0; }
  double worst_nmse() const;  // over every dtype
};

struct ConformanceOptions {
  std::string op_pattern = "*";  // shell wildcard over op names
  std::function<void(const ConformanceResult&)> on_result;
};

// Runs every matching op on every device in `devices` (the CPU device is skipped: it is the
// reference). On a device opened with named kernel tiers ("vulkan:0/baseline") only the ops
// whose kernels read the tiers run: the others are the same kernels as on its default.
std::vector<ConformanceResult> run_conformance(const std::vector<Device>& devices, const ConformanceOptions& options);

// What certifying a device opened with its default tiers runs besides it: its id with each of
// its other tier sets ("vulkan:0/baseline", "vulkan:0/subgroup", ...); none for OpenCL today.
std::vector<std::string> tier_profile_ids(const DeviceInfo& device);

// Default NMSE bounds of float16 and bfloat16 outputs. The device and the reference round
// float32 values that agree to ~1e-6 relative; where such a pair straddles a rounding boundary
// the two results are one ulp apart: 2^-11..2^-10 relative in float16, 2^-8..2^-7 in bfloat16.
// The bound is the NMSE of an output whose every element were off by the least of those,
// (2^-11)^2 and (2^-8)^2: it admits one-ulp disagreements on a good share of the elements, and
// fails anything that is off by more than about an ulp throughout (a float16 intermediate of a
// long sum, a bfloat16 accumulator, a wrong dtype). Rounding itself is checked exactly by the
// exact ops (cast, copy, relu, max_pool2d, embedding).
inline constexpr double kNmseBoundF16 = 1.0 / (1 << 22);   // 2.4e-7
inline constexpr double kNmseBoundBF16 = 1.0 / (1 << 16);  // 1.5e-5

// The NMSE bound of an output of `dtype` under `check`: its own bound for float32; for float16
// and bfloat16 the dtype's default or the check's bound, whichever is looser.
double nmse_bound_for(const OutputCheck& check, DType dtype);

// NMSE of `out` against `ref` (both float) over the elements where `ref` is finite; infinity
// when `out` is not finite at one of them.
double normalized_mse(const Tensor& ref, const Tensor& out);

// Compares one output with the reference; returns an empty string when it passes, else what
// failed. `nmse` gets the NMSE of an NMSE-checked output.
std::string compare_output(const OutputCheck& check, const Tensor& ref, const Tensor& out, double& nmse);

// The report table: op, device, cases, worst NMSE per case dtype (or "exact"), result.
std::string format_conformance_table(const std::vector<ConformanceResult>& results);

}  // namespace pq::rt
