#include "runtime/benchmark.h"

#include <fnmatch.h>

#include <chrono>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "host/quant/quantized_weight.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

// A case is one op run on one or more parts: a float weight larger than the device's largest
// buffer (lavapipe binds at most 128 MiB) is split along its output rows, one launch per part.
struct BenchPart {
  std::vector<Tensor> inputs;  // inputs[0] is the activation; the rest is weight data that rotates
};

struct BenchCase {
  std::string name;
  std::string op;
  std::vector<BenchPart> parts;
  OpParams params;
  double flops = 0;
};

// One recorded plan per weight copy; the encode contexts keep scratch memory alive.
struct PreparedCase {
  std::vector<std::unique_ptr<EncodeContext>> contexts;
  std::vector<std::unique_ptr<RecordedPlan>> plans;
  std::vector<DeviceTensor> keep_alive;
  uint64_t weight_bytes = 0;
};

uint64_t weight_bytes_of(const BenchCase& c) {
  uint64_t bytes = 0;
  for (const auto& part : c.parts) {
    for (size_t i = 1; i < part.inputs.size(); ++i) bytes += part.inputs[i].nbytes();
  }
  return bytes;
}

std::vector<DeviceTensor> allocate_outputs(const Device& device, const OpDef& op, const BenchPart& part, const OpParams& params) {
  std::vector<TensorSpec> specs;
  for (const auto& t : part.inputs) specs.push_back({t.dtype(), t.shape()});
  std::vector<DeviceTensor> outputs;
  for (const auto& s : op.infer(specs, params)) {
    const size_t bytes = static_cast<size_t>(shape_numel(s.shape)) * dtype_size(s.dtype);
    outputs.push_back({device.backend().allocate(device_buffer_bytes(bytes)), s.dtype, s.shape});
  }
  return outputs;
}

PreparedCase prepare(const Device& device, const OpDef& op, const BenchCase& c, const BenchOptions& options) {
  PreparedCase prepared;
  prepared.weight_bytes = weight_bytes_of(c);
  const int copies = static_cast<int>(std::clamp<uint64_t>(options.rotate_bytes / std::max<uint64_t>(prepared.weight_bytes, 1), 1, 16));
  std::vector<DeviceTensor> activations, outputs;
  std::vector<std::vector<DeviceTensor>> part_outputs;
  for (const auto& part : c.parts) {
    activations.push_back(device.upload(part.inputs[0]));
    part_outputs.push_back(allocate_outputs(device, op, part, c.params));
  }
  for (int copy = 0; copy < copies; ++copy) {
    std::vector<std::vector<DeviceTensor>> part_inputs;
    for (size_t p = 0; p < c.parts.size(); ++p) {
      std::vector<DeviceTensor> inputs{activations[p]};
      for (size_t i = 1; i < c.parts[p].inputs.size(); ++i) inputs.push_back(device.upload(c.parts[p].inputs[i]));
      prepared.keep_alive.insert(prepared.keep_alive.end(), inputs.begin(), inputs.end());
      part_inputs.push_back(std::move(inputs));
    }
    auto ctx = std::make_unique<EncodeContext>(device.backend());
    EncodeContext* raw = ctx.get();
    prepared.plans.push_back(device.backend().record([&] {
      for (size_t p = 0; p < c.parts.size(); ++p) op.encode(*raw, part_inputs[p], part_outputs[p], c.params);
    }));
    prepared.contexts.push_back(std::move(ctx));
  }
  for (auto& outs : part_outputs) prepared.keep_alive.insert(prepared.keep_alive.end(), outs.begin(), outs.end());
  return prepared;
}

// Warm-up runs one plan (drivers compile a pipeline at its first dispatch, once); then plans
// rotate, each run waited for, until `min_seconds` have passed and every copy ran at least
// once when that is cheap. A run of a GEMM that takes seconds is timed once or twice.
double time_per_run(Backend& backend, const std::vector<std::unique_ptr<RecordedPlan>>& plans, double min_seconds) {
  plans.front()->replay();
  backend.synchronize();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  size_t runs = 0;
  double elapsed = 0;
  while (runs < 2 || elapsed < min_seconds) {
    plans[runs % plans.size()]->replay();
    backend.synchronize();
    ++runs;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  }
  return elapsed / static_cast<double>(runs);
}

Tensor activations(int64_t n, int64_t k) { return random_tensor(DType::F32, {n, k}, 17); }

// The float weight in row chunks that each fit one device buffer.
std::vector<BenchPart> float_weight_parts(const Tensor& x, const Tensor& w, uint64_t max_buffer_bytes) {
  const int64_t rows = w.size(0);
  const auto row_bytes = static_cast<uint64_t>(w.size(1)) * 4;
  const int64_t rows_per_part = std::max<int64_t>(1, static_cast<int64_t>(max_buffer_bytes / row_bytes));
  std::vector<BenchPart> parts;
  for (int64_t r = 0; r < rows; r += rows_per_part) parts.push_back({{x, w.slice(0, r, std::min(rows, r + rows_per_part)).contiguous()}});
  return parts;
}

std::vector<BenchCase> linear_cases(const BenchOptions& o, uint64_t max_buffer_bytes) {
  std::vector<BenchCase> cases;
  const Tensor w = random_tensor(DType::F32, {o.m, o.k}, 5, -0.05f, 0.05f);
  const Tensor bias = random_tensor(DType::F32, {o.m}, 6);
  for (int64_t n : {int64_t{1}, o.gemm_rows}) {
    const std::string kind = n == 1 ? " gemv" : " gemm";
    const std::string shape = " n=" + std::to_string(n);
    const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(o.m) * static_cast<double>(o.k);
    const Tensor x = activations(n, o.k);
    for (QType q : {QType::QInt8, QType::QFloat8_E4M3FN, QType::QFloat8_E4M3FNUZ, QType::QFloat8_E5M2, QType::QInt4, QType::QInt2}) {
      const QuantizedWeight qw = quantize_weight(w, q);
      BenchCase c{"linear " + std::string(qtype_name(q)) + kind + shape, is_sub_byte(q) ? "linear_qbits" : "linear_qbytes",
                  {{{x, qw.serialized_data(), qw.scale}}}, {}, flops};
      if (is_sub_byte(q)) {
        c.parts[0].inputs.push_back(qw.shift);
        c.params = {{"bits", qw.bits()}, {"group_size", static_cast<double>(qw.group_size.value_or(static_cast<int>(o.k)))}};
      }
      cases.push_back(std::move(c));
    }
    cases.push_back({"matmul f32" + kind + shape, "matmul_f32", float_weight_parts(x, w, max_buffer_bytes), {{"transpose_b", 1}}, flops});
    if (n > 1) {
      const QuantizedWeight qw = quantize_weight(w, QType::QInt8);
      const Tensor x8 = random_tensor(DType::I8, {n, o.k}, 18, -127.0f, 127.0f);
      cases.push_back({"linear w8a8" + kind + shape, "linear_w8a8", {{{x8, qw.data, qw.scale, bias}}}, {{"input_scale", 0.01}, {"has_bias", 1}}, flops});
    }
  }
  return cases;
}

// Copies between pairs of buffers, each no larger than the device binds (lavapipe: 128 MiB),
// rotating through enough pairs that the traffic exceeds the last-level cache.
BenchResult bench_copy(const Device& device, const BenchOptions& options) {
  const uint64_t max_buffer = device.info().max_buffer_bytes ? device.info().max_buffer_bytes : ~uint64_t{0};
  const uint64_t buffer_bytes = std::min<uint64_t>(options.rotate_bytes / 2, max_buffer) / 4 * 4;
  const int pairs = static_cast<int>(std::max<uint64_t>(1, options.rotate_bytes / (2 * buffer_bytes)));
  const OpDef& op = find_op("copy");
  const Tensor data = random_tensor(DType::F32, {static_cast<int64_t>(buffer_bytes / 4)}, 3);
  EncodeContext ctx(device.backend());
  std::vector<DeviceTensor> keep_alive;
  std::vector<std::unique_ptr<RecordedPlan>> plans;
  for (int p = 0; p < pairs; ++p) {
    const DeviceTensor src = device.upload(data);
    const DeviceTensor dst{device.backend().allocate(src.nbytes()), src.dtype, src.shape};
    plans.push_back(device.backend().record([&] { op.encode(ctx, {src}, {dst}, {}); }));
    keep_alive.insert(keep_alive.end(), {src, dst});
  }
  const double seconds = time_per_run(device.backend(), plans, options.min_seconds);
  const double bytes = 2.0 * static_cast<double>(buffer_bytes);  // read + write
  return {device.info().id(), "copy " + std::to_string(buffer_bytes >> 20) + " MiB (read+write)", seconds * 1e3,
          bytes / seconds / 1e9, 0, pairs};
}

}  // namespace

std::vector<BenchResult> run_benchmarks(const Device& device, const BenchOptions& options) {
  std::vector<BenchResult> results;
  auto wanted = [&](const std::string& name) { return fnmatch(options.case_pattern.c_str(), name.c_str(), 0) == 0; };
  if (wanted("copy")) {
    if (options.on_progress) options.on_progress("copy");
    results.push_back(bench_copy(device, options));
  }
  const uint64_t max_buffer = device.info().max_buffer_bytes ? device.info().max_buffer_bytes : ~uint64_t{0};
  for (const BenchCase& c : linear_cases(options, max_buffer)) {
    if (!wanted(c.name)) continue;
    if (options.on_progress) options.on_progress(c.name);
    const OpDef& op = find_op(c.op);
    BenchResult r{device.info().id(), c.name};
    try {
      PreparedCase prepared = prepare(device, op, c, options);
      const double seconds = time_per_run(device.backend(), prepared.plans, options.min_seconds);
      r = {device.info().id(), c.name, seconds * 1e3, static_cast<double>(prepared.weight_bytes) / seconds / 1e9,
           c.flops / seconds / 1e9, static_cast<int>(prepared.plans.size())};
    } catch (const std::exception& e) {
      r.name += " (failed: " + std::string(e.what()) + ")";
    }
    results.push_back(r);
  }
  return results;
}

std::string format_bench_table(const std::vector<BenchResult>& results) {
  std::ostringstream s;
  s << "| device | case | ms | weight GB/s | GFLOP/s | weight copies |\n|---|---|---:|---:|---:|---:|\n";
  s << std::fixed;
  for (const auto& r : results) {
    s << "| " << r.device << " | " << r.name << " | " << std::setprecision(3) << r.milliseconds << " | "
      << std::setprecision(2) << r.weight_gbps << " | " << std::setprecision(2) << r.gflops << " | " << r.weight_copies << " |\n";
  }
  return s.str();
}

std::string bench_results_json(const std::vector<BenchResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) {
    out.push_back({{"device", r.device}, {"case", r.name}, {"ms", r.milliseconds}, {"weight_gbps", r.weight_gbps},
                   {"gflops", r.gflops}, {"weight_copies", r.weight_copies}});
  }
  return out.dump(2);
}

}  // namespace pq::rt
