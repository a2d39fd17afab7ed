#include "runtime/conformance.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <limits>
#include <sstream>

#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

constexpr size_t kGuardBytes = 256;
constexpr std::byte kFill{0xFF};  // NaN in every float format, -1 in integer ones
// Finite in every float format (1.5e13 in float32 and bfloat16, 85.3 in float16): a second run
// with it catches elements left unwritten where the reference is NaN.
constexpr std::byte kFiniteFill{0x55};

struct GuardedRun {
  std::vector<Tensor> outputs;
  std::vector<bool> guards_intact;
};

// A device tensor followed by guard bytes, all `fill` except for `initial`'s bytes when given.
// The guard starts right after the tensor's last byte; a kernel that writes whole words must
// keep the bytes of a partial last word (read-modify-write).
DeviceTensor guarded_tensor(Backend& backend, const TensorSpec& s, std::byte fill, const Tensor* initial) {
  const size_t bytes = static_cast<size_t>(shape_numel(s.shape)) * dtype_size(s.dtype);
  DeviceTensor d{backend.allocate(device_buffer_bytes(bytes) + kGuardBytes), s.dtype, s.shape};
  std::vector<std::byte> content(device_buffer_bytes(bytes) + kGuardBytes, fill);
  if (initial) {
    const Tensor t = initial->contiguous();
    std::copy(t.bytes().begin(), t.bytes().end(), content.begin());
  }
  backend.upload(*d.buffer, content);
  return d;
}

bool updated_in_place(const OpDef& op, size_t input) {
  for (const InPlace& alias : op.in_place) {
    if (alias.input == input) return true;
  }
  return false;
}

GuardedRun run_guarded(const Device& device, const OpDef& op, const OpCase& c, std::byte fill_byte) {
  std::vector<TensorSpec> specs;
  for (const auto& t : c.inputs) specs.push_back({t.dtype(), t.shape()});
  const auto out_specs = op.infer(specs, c.params);
  Backend& backend = device.backend();
  std::vector<DeviceTensor> in, out;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    in.push_back(updated_in_place(op, i) ? guarded_tensor(backend, specs[i], fill_byte, &c.inputs[i]) : device.upload(c.inputs[i]));
  }
  for (size_t i = 0; i < out_specs.size(); ++i) {
    const auto input = in_place_input(op, i);  // then the output is the input, updated
    out.push_back(input ? in.at(*input) : guarded_tensor(backend, out_specs[i], fill_byte, nullptr));
  }
  EncodeContext ctx(backend);
  op.encode(ctx, in, out, c.params);
  backend.synchronize();
  GuardedRun run;
  for (const auto& d : out) {
    std::vector<std::byte> bytes(device_buffer_bytes(d.nbytes()) + kGuardBytes);
    backend.download(*d.buffer, bytes);
    run.outputs.push_back(Tensor::from_bytes(d.dtype, d.shape, {bytes.data(), d.nbytes()}));
    bool intact = true;
    for (size_t i = d.nbytes(); i < bytes.size(); ++i) intact = intact && bytes[i] == fill_byte;
    run.guards_intact.push_back(intact);
  }
  return run;
}

std::string format_nmse(double v) {
  std::ostringstream s;
  s << std::scientific << std::setprecision(2) << v;
  return s.str();
}


std::string element_text(const Tensor& t, size_t i) {
  std::ostringstream s;
  s << load_as_float(t.bytes().data() + i * t.element_size(), t.dtype());
  return s.str();
}

std::string element_mismatch(const Tensor& ref, const Tensor& out, size_t i) {
  return "element " + std::to_string(i) + " is " + element_text(out, i) + ", reference " + element_text(ref, i);
}

// Bit for bit; for float dtypes a NaN matches any NaN (torch promises no NaN payload or sign).
std::string compare_exact(const Tensor& ref, const Tensor& out) {
  const auto a = ref.bytes();
  const auto b = out.bytes();
  const size_t es = ref.element_size();
  const bool floating = is_floating(ref.dtype());
  for (size_t i = 0; i < a.size(); i += es) {
    if (std::memcmp(a.data() + i, b.data() + i, es) == 0) continue;
    if (floating && std::isnan(load_as_float(a.data() + i, ref.dtype())) && std::isnan(load_as_float(b.data() + i, out.dtype()))) {
      continue;
    }
    return element_mismatch(ref, out, i / es);
  }
  return "";
}

// Non-finite reference values must be matched exactly: NaN by a NaN, an infinity by itself; a
// finite one by a finite value (the NMSE then bounds how far it is).
std::string compare_non_finite(const Tensor& ref, const Tensor& out) {
  const auto r = ref.to_float_vector();
  const auto o = out.to_float_vector();
  for (size_t i = 0; i < r.size(); ++i) {
    const bool ok = std::isnan(r[i]) ? std::isnan(o[i]) : std::isinf(r[i]) ? o[i] == r[i] : std::isfinite(o[i]);
    if (!ok) return element_mismatch(ref, out, i);
  }
  return "";
}

bool has_nan(const std::vector<Tensor>& outputs) {
  for (const auto& t : outputs) {
    if (!is_floating(t.dtype())) continue;
    for (float v : t.to_float_vector()) {
      if (std::isnan(v)) return true;
    }
  }
  return false;
}

// The float dtype a case runs in, for the report: its first float output's, else its first
// float input's; integer-only cases count as float32.
DType case_dtype(const OpCase& c, const std::vector<Tensor>& ref) {
  for (const auto& t : ref) {
    if (is_float_dtype(t.dtype())) return t.dtype();
  }
  for (const auto& t : c.inputs) {
    if (is_float_dtype(t.dtype())) return t.dtype();
  }
  return DType::F32;
}

void run_case(const Device& device, const OpDef& op, const OpCase& c, ConformanceResult& result) {
  ++result.cases;
  std::string failure;
  DTypeWorst* worst = nullptr;
  try {
    const std::vector<Tensor> ref = op.reference(c.inputs, c.params);
    worst = &result.by_dtype[case_dtype(c, ref)];
    ++worst->cases;
    for (std::byte fill : {kFill, kFiniteFill}) {
      if (fill == kFiniteFill && !has_nan(ref)) break;
      const GuardedRun run = run_guarded(device, op, c, fill);
      for (size_t i = 0; i < ref.size() && failure.empty(); ++i) {
        const OutputCheck& check = op.checks.at(i);
        worst->all_exact = worst->all_exact && check.exact;
        double nmse = 0.0;
        failure = compare_output(check, ref[i], run.outputs[i], nmse);
        if (!run.guards_intact[i] && failure.empty()) failure = "wrote past the end of the output (guard bytes changed)";
        if (!failure.empty()) failure = "output " + std::to_string(i) + ": " + failure;
        worst->worst_nmse = std::max(worst->worst_nmse, std::isfinite(nmse) ? nmse : std::numeric_limits<double>::infinity());
      }
      if (!failure.empty()) break;
    }
  } catch (const std::exception& e) {
    failure = std::string("error: ") + e.what();
  }
  if (!failure.empty()) {
    ++result.failed;
    if (worst) worst->all_exact = false;
    result.failures.push_back("case " + c.label + (c.params.to_string().empty() ? "" : " (" + c.params.to_string() + ")") +
                              ": " + failure);
  }
}

}  // namespace

double ConformanceResult::worst_nmse() const {
  double worst = 0.0;
  for (const auto& [dtype, w] : by_dtype) worst = std::max(worst, w.worst_nmse);
  return worst;
}

double nmse_bound_for(const OutputCheck& check, DType dtype) {
  if (dtype == DType::F16) return std::max(check.nmse_bound, kNmseBoundF16);
  if (dtype == DType::BF16) return std::max(check.nmse_bound, kNmseBoundBF16);
  return check.nmse_bound;
}

double normalized_mse(const Tensor& ref, const Tensor& out) {
  const auto r = ref.to_float_vector();
  const auto o = out.to_float_vector();
  double err = 0.0, norm = 0.0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (!std::isfinite(r[i])) continue;
    if (!std::isfinite(o[i])) return std::numeric_limits<double>::infinity();
    const double d = static_cast<double>(r[i]) - o[i];
    err += d * d;
    norm += static_cast<double>(r[i]) * r[i];
  }
  return norm > 0 ? err / norm : err;
}

std::string compare_output(const OutputCheck& check, const Tensor& ref, const Tensor& out, double& nmse) {
  if (ref.dtype() != out.dtype() || ref.shape() != out.shape()) {
    return "dtype/shape " + std::string(dtype_name(out.dtype())) + shape_to_string(out.shape()) + " vs reference " +
           std::string(dtype_name(ref.dtype())) + shape_to_string(ref.shape());
  }
  if (check.exact) return compare_exact(ref, out);
  if (std::string mismatch = compare_non_finite(ref, out); !mismatch.empty()) return mismatch;
  nmse = normalized_mse(ref, out);
  const double bound = nmse_bound_for(check, out.dtype());
  if (nmse > bound) return "NMSE " + format_nmse(nmse) + " > " + format_nmse(bound);
  return "";
}

std::vector<ConformanceResult> run_conformance(const std::vector<Device>& devices, const ConformanceOptions& options) {
  std::vector<ConformanceResult> results;
  for (const auto& op : all_ops()) {
    if (fnmatch(options.op_pattern.c_str(), op.name.c_str(), 0) != 0) continue;
    const std::vector<OpCase> cases = op.cases();
    for (const auto& device : devices) {
      if (device.is_cpu() || (device.info().tiers_named && !op.reads_tiers)) continue;
      ConformanceResult result{op.name, device.info().id()};
      for (const auto& c : cases) run_case(device, op, c, result);
      if (options.on_result) options.on_result(result);
      results.push_back(std::move(result));
    }
  }
  return results;
}

std::vector<std::string> tier_profile_ids(const DeviceInfo& device) {
  std::vector<std::string> ids;
  if (device.api == Api::Cpu || device.tiers_named) return ids;
  for (const KernelTiers& tiers : other_tier_sets(device.supported_tiers, device.tiers)) {
    ids.push_back(device.id() + "/" + tier_list(tiers));
  }
  return ids;
}

std::string format_conformance_table(const std::vector<ConformanceResult>& results) {
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16};
  std::ostringstream s;
  size_t device_width = 12;  // "vulkan:0/int64,subgroup,dot" is wider
  for (const auto& r : results) device_width = std::max(device_width, r.device.size() + 2);
  const int dw = static_cast<int>(device_width);
  s << std::left << std::setw(24) << "op" << std::setw(dw) << "device" << std::right << std::setw(6) << "cases";
  for (const char* name : {"f32", "f16", "bf16"}) s << std::setw(11) << name;
  s << "  result\n";
  int failed = 0;
  for (const auto& r : results) {
    s << std::left << std::setw(24) << r.op << std::setw(dw) << r.device << std::right << std::setw(6) << r.cases;
    for (DType d : dtypes) {
      const auto it = r.by_dtype.find(d);
      const std::string cell = it == r.by_dtype.end() ? "-"
                               : it->second.all_exact ? "exact"
                                                      : format_nmse(it->second.worst_nmse);
      s << std::setw(11) << cell;
    }
    s << "  " << (r.passed() ? "pass" : "FAIL") << "\n";
    for (const auto& f : r.failures) s << "    " << f << "\n";
    failed += !r.passed();
  }
  s << results.size() - static_cast<size_t>(failed) << " passed, " << failed << " failed\n";
  return s.str();
}

}  // namespace pq::rt
