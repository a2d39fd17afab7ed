#include "runtime/benchmark.h"

#include <fnmatch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "host/quant/quantized_weight.h"
#include "runtime/ops/linear_layout.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

// A case is one op; its inputs are built only when the case is wanted (quantizing a
// 4096 × 14336 weight takes seconds). inputs[0] is the activation, the rest weight data that
// the cold mode copies.
struct BenchInputs {
  std::vector<Tensor> tensors;
  OpParams params;
};

struct BenchCase {
  std::string name;
  std::string op;
  int64_t n = 0;
  std::function<BenchInputs()> build;
};

// One recorded plan per weight copy; the encode contexts keep scratch memory alive.
struct PreparedCase {
  std::vector<std::unique_ptr<EncodeContext>> contexts;
  std::vector<std::unique_ptr<RecordedPlan>> plans;
  std::vector<DeviceTensor> keep_alive;
};

uint64_t weight_bytes_of(const std::vector<Tensor>& inputs) {
  uint64_t bytes = 0;
  for (size_t i = 1; i < inputs.size(); ++i) bytes += inputs[i].nbytes();
  return bytes;
}

std::vector<DeviceTensor> allocate_outputs(const Device& device, const OpDef& op, const std::vector<Tensor>& inputs,
                                           const OpParams& params) {
  std::vector<DeviceTensor> outputs;
  for (const auto& s : op.infer(tensor_specs(inputs), params)) outputs.push_back(device.allocate(s));
  return outputs;
}

// The first `shared` inputs (the activations) are uploaded once; the others (the weights) once
// per copy, so that the copies rotate through memory.
PreparedCase prepare(const Device& device, const OpDef& op, const std::vector<Tensor>& inputs, const OpParams& params,
                     int copies, size_t shared = 1) {
  PreparedCase prepared;
  std::vector<DeviceTensor> shared_inputs;
  for (size_t i = 0; i < shared; ++i) shared_inputs.push_back(device.upload(inputs[i]));
  std::vector<DeviceTensor> outputs = allocate_outputs(device, op, inputs, params);
  for (int copy = 0; copy < copies; ++copy) {
    std::vector<DeviceTensor> in = shared_inputs;
    for (size_t i = shared; i < inputs.size(); ++i) in.push_back(device.upload(inputs[i]));
    prepared.keep_alive.insert(prepared.keep_alive.end(), in.begin(), in.end());
    auto ctx = std::make_unique<EncodeContext>(device.backend());
    EncodeContext* raw = ctx.get();
    prepared.plans.push_back(device.backend().record([&] { op.encode(*raw, in, outputs, params); }));
    prepared.contexts.push_back(std::move(ctx));
  }
  prepared.keep_alive.insert(prepared.keep_alive.end(), outputs.begin(), outputs.end());
  return prepared;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Timing {
  std::vector<double> ms;  // per run, one entry per repetition
  double cpu_ms = 0;
  int runs = 0;
};

// Warm-up runs every plan once (drivers compile a pipeline at its first dispatch, and the first
// touch of a buffer may fault its pages in); then `repetitions` batches, each at least
// `min_seconds` long, with the plans rotating and every run waited for.
Timing time_runs(Backend& backend, const std::vector<std::unique_ptr<RecordedPlan>>& plans, const BenchOptions& o) {
  for (const auto& plan : plans) {
    plan->replay();
    backend.synchronize();
  }
  using clock = std::chrono::steady_clock;
  Timing t;
  double cpu_total = 0;
  size_t next = 0;
  for (int rep = 0; rep < o.repetitions; ++rep) {
    const auto start = clock::now();
    const double cpu_start = cpu_seconds();
    int runs = 0;
    double elapsed = 0;
    while (runs < 1 || elapsed < o.min_seconds) {
      plans[next++ % plans.size()]->replay();
      backend.synchronize();
      ++runs;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    cpu_total += cpu_seconds() - cpu_start;
    t.ms.push_back(elapsed * 1e3 / runs);
    t.runs += runs;
  }
  t.cpu_ms = cpu_total * 1e3 / t.runs;
  return t;
}

void summarize(const Timing& t, BenchResult& r) {
  const auto n = static_cast<double>(t.ms.size());
  r.repetitions = static_cast<int>(t.ms.size());
  r.runs = t.runs;
  r.milliseconds = std::accumulate(t.ms.begin(), t.ms.end(), 0.0) / n;
  double var = 0;
  for (double v : t.ms) var += (v - r.milliseconds) * (v - r.milliseconds);
  r.stddev_ms = n > 1 ? std::sqrt(var / (n - 1)) : 0;
  r.cpu_milliseconds = t.cpu_ms;
}

Tensor activations(int64_t n, int64_t k) { return random_tensor(DType::F32, {n, k}, 17); }

// Quantized once per qtype and shared by the GEMV and GEMM cases.
class WeightCache {
 public:
  explicit WeightCache(const BenchOptions& o) : o_(o) {}
  const Tensor& float_weight() {
    if (!w_.defined()) w_ = random_tensor(DType::F32, {o_.m, o_.k}, 5, -0.05f, 0.05f);
    return w_;
  }
  const QuantizedWeight& quantized(QType q) {
    auto it = quantized_.find(q);
    if (it == quantized_.end()) it = quantized_.emplace(q, quantize_weight(float_weight(), q)).first;
    return it->second;
  }

 private:
  const BenchOptions& o_;
  Tensor w_;
  std::map<QType, QuantizedWeight> quantized_;
};

// The inputs of linear_qbits / linear_qbytes for qtype q, as the model runtime uploads them
// (int4 in the blocked layout when its group size allows).
BenchInputs quantized_inputs(WeightCache& cache, const BenchOptions& o, QType q, int64_t n) {
  const QuantizedWeight& qw = cache.quantized(q);
  if (!is_sub_byte(q)) return {{activations(n, o.k), qw.serialized_data(), qw.scale}, {}};
  const int64_t g = qw.group_size.value_or(static_cast<int>(o.k));
  BenchInputs in{{activations(n, o.k), qw.serialized_data(), qw.scale, qw.shift},
                 {{"bits", qw.bits()}, {"group_size", static_cast<double>(g)}}};
  if (qw.bits() == 4 && linear::blocked_layout_supported(o.k, g, 4)) {
    in.tensors[1] = linear::repack_blocked_codes(in.tensors[1], o.m, o.k, g, 4);
    in.tensors[2] = linear::repack_blocked_groups(in.tensors[2], o.m, o.k / g);
    in.tensors[3] = linear::repack_blocked_groups(in.tensors[3], o.m, o.k / g);
    in.params.set("layout", 1);
    in.params.set("rows", static_cast<double>(o.m));
  }
  return in;
}

std::vector<BenchCase> linear_cases(const BenchOptions& o, WeightCache& cache) {
  std::vector<BenchCase> cases;
  for (int64_t n : {int64_t{1}, o.gemm_rows}) {
    const std::string suffix = (n <= 8 ? " gemv" : " gemm") + std::string(" n=") + std::to_string(n);
    for (QType q : {QType::QInt8, QType::QFloat8_E4M3FN, QType::QFloat8_E4M3FNUZ, QType::QFloat8_E5M2, QType::QInt4, QType::QInt2}) {
      cases.push_back({"linear " + std::string(qtype_name(q)) + suffix, is_sub_byte(q) ? "linear_qbits" : "linear_qbytes", n,
                       [&cache, &o, q, n] { return quantized_inputs(cache, o, q, n); }});
    }
    cases.push_back({"matmul f32" + suffix, "matmul_f32", n, [&cache, &o, n] {
                       return BenchInputs{{activations(n, o.k), cache.float_weight()}, {{"transpose_b", 1}}};
                     }});
    cases.push_back({"linear w8a8" + suffix, "linear_w8a8", n, [&cache, &o, n] {
                       const QuantizedWeight& qw = cache.quantized(QType::QInt8);
                       return BenchInputs{{random_tensor(DType::I8, {n, o.k}, 18, -127.0f, 127.0f), qw.data, qw.scale,
                                           random_tensor(DType::F32, {o.m}, 6)},
                                          {{"input_scale", 0.01}, {"has_bias", 1}}};
                     }});
  }
  return cases;
}

// Copies between pairs of buffers, each no larger than the device binds (lavapipe: 128 MiB),
// rotating through enough pairs that the traffic exceeds the last-level cache (cold), or one
// pair again and again (hot).
std::vector<BenchResult> bench_copy(const Device& device, const BenchOptions& options) {
  const uint64_t max_buffer = device.info().max_buffer_bytes ? device.info().max_buffer_bytes : ~uint64_t{0};
  const uint64_t buffer_bytes = std::min<uint64_t>(options.rotate_bytes / 2, max_buffer) / 4 * 4;
  const OpDef& op = find_op("copy");
  const Tensor data = random_tensor(DType::F32, {static_cast<int64_t>(buffer_bytes / 4)}, 3);
  std::vector<BenchResult> results;
  for (BenchMode mode : options.modes) {
    const int pairs = mode == BenchMode::Hot ? 1 : static_cast<int>(std::max<uint64_t>(1, options.rotate_bytes / (2 * buffer_bytes)));
    BenchResult r{device.info().id(), device.info().description(), "copy " + std::to_string(buffer_bytes >> 20) + " MiB (read+write)", "copy"};
    r.mode = mode;
    r.load_average = load_average_1min();
    r.weight_copies = pairs;
    const PreparedCase prepared = prepare(device, op, {data}, {}, pairs, /*shared=*/0);  // a source per pair
    summarize(time_runs(device.backend(), prepared.plans, options), r);
    r.weight_gbps = 2.0 * static_cast<double>(buffer_bytes) / (r.milliseconds * 1e-3) / 1e9;  // read + write
    results.push_back(r);
  }
  return results;
}

BenchResult run_mode(const Device& device, const BenchCase& c, const BenchInputs& in, BenchMode mode,
                     const BenchOptions& options) {
  const std::vector<Tensor>& inputs = in.tensors;
  const OpParams& params = in.params;
  BenchResult r{device.info().id(), device.info().description(), c.name, c.op};
  r.n = c.n;
  r.mode = mode;
  r.load_average = load_average_1min();
  const uint64_t weight_bytes = weight_bytes_of(inputs);
  r.k = inputs[0].shape().back();
  try {
    const OpDef& op = find_op(c.op);
    r.m = op.infer(tensor_specs(inputs), params)[0].shape.back();
    r.weight_copies = mode == BenchMode::Hot
                          ? 1
                          : static_cast<int>(std::clamp<uint64_t>(options.rotate_bytes / std::max<uint64_t>(weight_bytes, 1), 1, 64));
    const PreparedCase prepared = prepare(device, op, inputs, params, r.weight_copies);
    summarize(time_runs(device.backend(), prepared.plans, options), r);
    const double seconds = r.milliseconds * 1e-3;
    r.weight_gbps = static_cast<double>(weight_bytes) / seconds / 1e9;
    r.gflops = 2.0 * static_cast<double>(r.n) * static_cast<double>(r.m) * static_cast<double>(r.k) / seconds / 1e9;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace

std::string_view bench_mode_name(BenchMode mode) { return mode == BenchMode::Hot ? "hot" : "cold"; }

double load_average_1min() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  return in >> load ? load : 0.0;
}

uint64_t host_last_level_cache_bytes() {
  uint64_t best_level = 0, bytes = 0;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), size_file(dir + "size");
    uint64_t level = 0, size = 0;
    std::string unit;
    if (!(level_file >> level) || !(size_file >> size)) break;
    size_file >> unit;  // "32768K"
    if (!unit.empty() && (unit[0] == 'K' || unit[0] == 'k')) size <<= 10;
    if (!unit.empty() && unit[0] == 'M') size <<= 20;
    if (level > best_level || (level == best_level && size > bytes)) best_level = level, bytes = size;
  }
  if (bytes) return bytes;
#ifdef _SC_LEVEL3_CACHE_SIZE
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) return static_cast<uint64_t>(l3);
#endif
  return 0;
}

uint64_t default_rotate_bytes() { return std::max<uint64_t>(uint64_t{512} << 20, 4 * host_last_level_cache_bytes()); }

std::vector<BenchResult> run_benchmarks(const Device& device, const BenchOptions& options) {
  std::vector<BenchResult> results;
  auto wanted = [&](const std::string& name) { return fnmatch(options.case_pattern.c_str(), name.c_str(), 0) == 0; };
  if (wanted("copy")) {
    if (options.on_progress) options.on_progress("copy");
    for (auto& r : bench_copy(device, options)) results.push_back(std::move(r));
  }
  WeightCache cache(options);
  for (const BenchCase& c : linear_cases(options, cache)) {
    if (!wanted(c.name)) continue;
    if (options.on_progress) options.on_progress(c.name);
    const BenchInputs in = c.build();
    for (BenchMode mode : options.modes) results.push_back(run_mode(device, c, in, mode, options));
  }
  return results;
}

std::string format_bench_table(const std::vector<BenchResult>& results) {
  std::ostringstream s;
  s << "| device | case | mode | ms | ± | cpu ms | weight GB/s | GFLOP/s | copies | load |\n"
       "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  s << std::fixed;
  for (const auto& r : results) {
    s << "| " << r.device << " | " << r.name << " | " << bench_mode_name(r.mode) << " | ";
    if (!r.error.empty()) {
      s << "failed: " << r.error << " | | | | | | |\n";
      continue;
    }
    s << std::setprecision(3) << r.milliseconds << " | " << r.stddev_ms << " | " << r.cpu_milliseconds << " | "
      << std::setprecision(2) << r.weight_gbps << " | " << r.gflops << " | " << r.weight_copies << " | "
      << std::setprecision(1) << r.load_average << " |\n";
  }
  return s.str();
}

std::string bench_results_json(const std::vector<BenchResult>& results, const BenchOptions& options) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json j = {{"device", r.device}, {"device_name", r.device_name}, {"case", r.name}, {"op", r.op},
                        {"shape", {{"n", r.n}, {"m", r.m}, {"k", r.k}}}, {"mode", bench_mode_name(r.mode)},
                        {"weight_copies", r.weight_copies}, {"repetitions", r.repetitions}, {"runs", r.runs},
                        {"ms", r.milliseconds}, {"stddev_ms", r.stddev_ms}, {"cpu_ms", r.cpu_milliseconds},
                        {"weight_gbps", r.weight_gbps}, {"gflops", r.gflops}, {"load_average", r.load_average}};
    if (!r.error.empty()) j["error"] = r.error;
    cases.push_back(std::move(j));
  }
  return nlohmann::json{{"protocol",
                         {{"hot", "one copy of the weights, replayed (as ggml test-backend-ops perf)"},
                          {"cold", "weight copies rotating through rotate_bytes (past the last-level cache)"},
                          {"rotate_bytes", options.rotate_bytes},
                          {"host_last_level_cache_bytes", host_last_level_cache_bytes()},
                          {"min_seconds_per_repetition", options.min_seconds},
                          {"repetitions", options.repetitions}}},
                        {"results", cases}}
      .dump(2);
}

}  // namespace pq::rt
