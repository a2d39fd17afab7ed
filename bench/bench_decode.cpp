// Decode-step op timings per device: attention for one new token (H=9, Hkv=3, d=64, SmolLM2's
// heads) over kv_len keys of a 2048-position cache, next to sdpa on the same keys, and the
// sampling ops on a 49152-entry logits row. Each op is recorded once as a plan and replayed, as
// a decoder does per token, and synchronized after each replay; the inputs stay cache-resident
// (this measures the kernels, not memory bandwidth). Then SmolLM2's projections at n = 1: the
// int4 GEMVs (group size 64, blocked layout) of q/k/v stacked, o_proj, gate/up (linear, and
// linear_swiglu), down_proj, and the int8 lm_head. Milliseconds per call, the best of 10 rounds.
//   build/bench/bench_decode [DEVICE...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "runtime/device.h"
#include "runtime/ops/fused_linear_cases.h"
#include "runtime/ops/op_helpers.h"

namespace {

using namespace pq;
using namespace pq::rt;

Tensor i32(int32_t v) { return Tensor::from_values(DType::I32, {1}, std::vector<int32_t>{v}); }

// Milliseconds per replay of a plan holding one run of `op`.
double time_op(const Device& device, const std::string& name, const std::vector<Tensor>& inputs, const OpParams& params) {
  const OpDef& op = find_op(name);
  std::vector<DeviceTensor> in;
  std::vector<TensorSpec> specs;
  for (const Tensor& t : inputs) in.push_back(device.upload(t)), specs.push_back({t.dtype(), t.shape()});
  const std::vector<DeviceTensor> out = device.outputs_for(op, in, op.infer(specs, params));
  EncodeContext ctx(device.backend());
  const std::unique_ptr<RecordedPlan> plan = device.backend().record([&] { op.encode(ctx, in, out, params); });
  using clock = std::chrono::steady_clock;
  plan->replay();  // warm-up: pipeline or program compilation
  device.backend().synchronize();
  // The best of 10 rounds of at least 50 ms: other processes on the machine only add time.
  double best = 1e30;
  for (int round = 0; round < 10; ++round) {
    int runs = 0;
    const auto start = clock::now();
    double seconds = 0;
    do {
      plan->replay();
      device.backend().synchronize();
      ++runs;
      seconds = std::chrono::duration<double>(clock::now() - start).count();
    } while (seconds < 0.05);
    best = std::min(best, 1e3 * seconds / runs);
  }
  return best;
}

void bench_device(const std::string& spec) {
  const Device device = Device::open(spec);
  constexpr int64_t kHeads = 9, kKvHeads = 3, kDim = 64, kMaxLen = 2048;
  for (const DType dtype : float_dtypes()) {
    const Tensor q = random_tensor(dtype, {1, 1, kHeads, kDim}, 1);
    const Tensor k = random_tensor(dtype, {1, kMaxLen, kKvHeads, kDim}, 2), v = random_tensor(dtype, {1, kMaxLen, kKvHeads, kDim}, 3);
    for (const int32_t kv_len : {128, 1024, 2048}) {
      const double att = time_op(device, "attention", {q, k, v, i32(kv_len)}, {{"causal", 1}});
      std::printf("%-10s attention %-5s decode H=9 Hkv=3 d=64 kv_len %4d  %8.3f ms", spec.c_str(),
                  std::string(dtype_name(dtype)).c_str(), kv_len, att);
      if (dtype == DType::F32) {
        const Tensor sq = random_tensor(dtype, {kHeads, 1, kDim}, 4);
        const Tensor sk = random_tensor(dtype, {kKvHeads, kv_len, kDim}, 5), sv = random_tensor(dtype, {kKvHeads, kv_len, kDim}, 6);
        std::printf("   sdpa %8.3f ms", time_op(device, "sdpa", {sq, sk, sv}, {{"causal", 1}}));
      }
      std::printf("\n");
    }
  }
  const Tensor logits = random_tensor(DType::F32, {1, 49152}, 7);
  std::printf("%-10s argmax float32 [1, 49152]  %8.3f ms\n", spec.c_str(), time_op(device, "argmax", {logits}, {}));
  for (const int k : {50, 1024}) {
    std::printf("%-10s topk   float32 [1, 49152] k %4d  %8.3f ms\n", spec.c_str(), k,
                time_op(device, "topk", {logits}, {{"k", static_cast<double>(k)}}));
  }
  const Tensor cache = random_tensor(DType::F32, {kMaxLen, kKvHeads, kDim}, 8), row = random_tensor(DType::F32, {1, kKvHeads, kDim}, 9);
  std::printf("%-10s kv_write float32 one row into [2048, 3, 64]  %8.3f ms\n", spec.c_str(),
              time_op(device, "kv_write", {cache, row, i32(1000)}, {}));
}

void bench_projections(const std::string& spec) {
  const Device device = Device::open(spec);
  linear::FusedLinearCaseInputs make(100);
  struct Projection {
    const char* name;
    int64_t k, m;
    bool int8;
  };
  for (const Projection& pr : {Projection{"q/k/v", 576, 960, false}, {"o_proj", 576, 576, false}, {"gate/up", 576, 3072, false},
                               {"down_proj", 1536, 576, false}, {"lm_head", 576, 49152, true}}) {
    OpCase c = pr.int8 ? make.bytes(1, pr.k, pr.m, DType::F32, QType::QInt8) : make.int4(1, pr.k, pr.m, DType::F32, 64);
    make.add_bias(c, pr.m, DType::F32, false);
    const std::string op = pr.int8 ? "linear_qbytes" : "linear_qbits";
    std::printf("%-10s %-13s %-9s k %5lld m %5lld  %8.3f ms", spec.c_str(), op.c_str(), pr.name, static_cast<long long>(pr.k),
                static_cast<long long>(pr.m), time_op(device, op, c.inputs, c.params));
    if (std::string(pr.name) == "gate/up") {
      std::printf("   linear_swiglu %8.3f ms", time_op(device, "linear_swiglu", c.inputs, c.params));
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> devices(argv + 1, argv + argc);
    if (devices.empty()) devices = available_device_ids(false);
    for (const auto& spec : devices) bench_device(spec);
    for (const auto& spec : devices) bench_projections(spec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}
