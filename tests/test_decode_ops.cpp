// The decode ops as a decoder uses them: a KV cache kept on the device and written in place,
// one recorded plan replayed per token with only the position and the new token's rows
// uploaded, checked against the op references (the host mirror of the cache) at every step, on
// every OpenCL/Vulkan device. Also: in-place semantics of the registry, the Executor and
// Device::run; what the kernels do with per-step values the reference refuses; attention
// against sdpa where their shapes overlap. (Per-op numerics: the conformance suite.)
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "runtime/conformance.h"
#include "runtime/model/executor.h"
#include "runtime/ops/op_helpers.h"
#include "tests/test_support.h"

namespace pq::rt {
namespace {

using model::Executor;
using model::Value;

std::vector<std::string> kernel_devices() { return available_device_ids(false); }

Tensor i32(std::vector<int32_t> values) {
  const auto n = static_cast<int64_t>(values.size());
  return Tensor::from_values(DType::I32, {n}, values);
}

Tensor ref1(const std::string& op, const std::vector<Tensor>& inputs, const OpParams& params = {}) {
  return find_op(op).reference(inputs, params).at(0);
}

// A cache as a fresh allocation holds it: garbage, here NaN everywhere, which no attention row
// may see.
Tensor nan_cache(DType dtype, Shape shape) {
  return Tensor::from_floats(dtype, std::move(shape), std::vector<float>(static_cast<size_t>(shape_numel(shape)), NAN));
}

// ---- the decode loop: prefill eagerly, then one recorded plan per token --------------------

struct DecodeShape {
  int64_t max_len = 23, heads = 9, kv_heads = 3, d = 16, prompt = 5, steps = 12;
};

// The state a decoder keeps on the device: caches, and the small per-step inputs it uploads.
struct DeviceDecoder {
  Executor& ex;
  Value cache_k, cache_v, new_k, new_v, q, start, kv_len;
  Value out, token;  // what the recorded step produces

  // One decode step: kv_write of the new rows at `start`, attention of the new query over
  // kv_len keys, argmax of the flattened output (a stand-in for the logits' argmax).
  void step(const DecodeShape& s) {
    cache_k = ex.run1("kv_write", {cache_k, new_k, start});
    cache_v = ex.run1("kv_write", {cache_v, new_v, start});
    const Value att = ex.run1("attention",
                              {ex.reshape(q, {1, -1, s.heads, s.d}), ex.reshape(cache_k, {1, s.max_len, s.kv_heads, s.d}),
                               ex.reshape(cache_v, {1, s.max_len, s.kv_heads, s.d}), kv_len},
                              {{"causal", 1}});
    out = att;
    token = ex.run1("argmax", {ex.reshape(att, {1, -1})});
  }
};

// The same steps on the host, through the op references.
struct HostDecoder {
  Tensor cache_k, cache_v;

  Tensor step(const DecodeShape& s, const Tensor& new_k, const Tensor& new_v, const Tensor& q, int32_t start) {
    cache_k = ref1("kv_write", {cache_k, new_k, i32({start})});
    cache_v = ref1("kv_write", {cache_v, new_v, i32({start})});
    const int64_t sq = q.size(0);
    return ref1("attention",
                {q.reshape({1, sq, s.heads, s.d}), cache_k.reshape({1, s.max_len, s.kv_heads, s.d}),
                 cache_v.reshape({1, s.max_len, s.kv_heads, s.d}), i32({start + static_cast<int32_t>(sq)})},
                {{"causal", 1}});
  }
};

void upload(const Device& device, const Value& v, const Tensor& t) {
  device.backend().upload(*v.device.buffer, t.contiguous().bytes());
}

void run_decode_loop(const std::string& device_id, DType dtype) {
  SCOPED_TRACE(device_id + " " + std::string(dtype_name(dtype)));
  const DecodeShape s;
  const Device device = Device::open(device_id);
  Executor ex(device);
  const Shape cache_shape{s.max_len, s.kv_heads, s.d};
  HostDecoder host{nan_cache(dtype, cache_shape), nan_cache(dtype, cache_shape)};
  uint32_t seed = 900;
  auto rows = [&](int64_t n, int64_t heads) { return random_tensor(dtype, {n, heads, s.d}, seed++); };

  // Prefill: the prompt's rows at 0, eagerly.
  DeviceDecoder dev{ex, ex.input(host.cache_k), ex.input(host.cache_v)};
  const Tensor pk = rows(s.prompt, s.kv_heads), pv = rows(s.prompt, s.kv_heads), pq = rows(s.prompt, s.heads);
  dev.new_k = ex.input(pk), dev.new_v = ex.input(pv), dev.q = ex.input(pq);
  dev.start = ex.input(i32({0})), dev.kv_len = ex.input(i32({static_cast<int32_t>(s.prompt)}));
  dev.step(s);
  const Tensor prefill = host.step(s, pk, pv, pq, 0);
  EXPECT_LE(normalized_mse(prefill, ex.read(dev.out)), nmse_bound_for(OutputCheck{}, dtype)) << "prefill";
  ex.finish();

  // Decode: one plan recorded over the device-held inputs, replayed per token.
  dev.new_k = ex.input(rows(1, s.kv_heads)), dev.new_v = ex.input(rows(1, s.kv_heads)), dev.q = ex.input(rows(1, s.heads));
  dev.start = ex.input(i32({0})), dev.kv_len = ex.input(i32({0}));
  const Value cache_k_before = dev.cache_k;
  std::unique_ptr<RecordedPlan> plan = device.backend().record([&] { dev.step(s); });
  std::vector<std::shared_ptr<void>> keepalive;
  ex.move_keepalive_to(keepalive);
  EXPECT_EQ(dev.cache_k.device.buffer, cache_k_before.device.buffer) << "kv_write allocated a new cache";
  for (int64_t t = s.prompt; t < s.prompt + s.steps; ++t) {
    SCOPED_TRACE("position " + std::to_string(t));
    const Tensor k = rows(1, s.kv_heads), v = rows(1, s.kv_heads), q = rows(1, s.heads);
    upload(device, dev.new_k, k);
    upload(device, dev.new_v, v);
    upload(device, dev.q, q);
    upload(device, dev.start, i32({static_cast<int32_t>(t)}));
    upload(device, dev.kv_len, i32({static_cast<int32_t>(t + 1)}));
    plan->replay();
    device.backend().synchronize();
    const Tensor expected = host.step(s, k, v, q, static_cast<int32_t>(t));
    const Tensor out = device.download(dev.out.device);
    EXPECT_LE(normalized_mse(expected, out), nmse_bound_for(OutputCheck{}, dtype));
    // argmax is exact: the device's argmax of the device's attention output.
    EXPECT_TRUE(test::same_bits(device.download(dev.token.device), ref1("argmax", {out.reshape({1, -1})})));
  }
  // Every written row, bit for bit; the rows never written still hold the initial NaN bytes.
  EXPECT_TRUE(test::same_bits(device.download(dev.cache_k.device), host.cache_k));
  EXPECT_TRUE(test::same_bits(device.download(dev.cache_v.device), host.cache_v));
}

TEST(DecodePlan, KvWriteAttentionArgmaxReplayedAtEveryPosition) {
  if (kernel_devices().empty()) GTEST_SKIP() << "no OpenCL or Vulkan device";
  for (const std::string& device : kernel_devices()) {
    for (DType dtype : {DType::F32, DType::BF16}) run_decode_loop(device, dtype);
  }
}

// HF's default inv_freq, 1 / 10000^(2i / dim), in float32 on the host.
Tensor default_inv_freq(int64_t dim) {
  std::vector<float> inv(static_cast<size_t>(dim / 2));
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(dim));
  return Tensor::from_floats(DType::F32, {dim / 2}, inv);
}

// rope reads the positions from a device tensor: a plan recorded once rotates by whatever
// positions are uploaded before each replay. Without inv_freq the device computes it with exp2,
// a few ulp from the host's pow, which costs accuracy at long positions (the rope op's note):
// positions up to 2047 then; with inv_freq given, any.
TEST(DecodePlan, RopeReplayedWithUploadedPositions) {
  if (kernel_devices().empty()) GTEST_SKIP() << "no OpenCL or Vulkan device";
  for (const std::string& device_id : kernel_devices()) {
    for (const bool given_inv_freq : {false, true}) {
      SCOPED_TRACE(device_id + (given_inv_freq ? " with inv_freq" : ""));
      const Device device = Device::open(device_id);
      Executor ex(device);
      std::vector<Value> in{ex.input(random_tensor(DType::F32, {1, 9, 64}, 950)), ex.input(i32({0}))};
      if (given_inv_freq) in.push_back(ex.input(default_inv_freq(64)));
      Value out;
      std::unique_ptr<RecordedPlan> plan = device.backend().record([&] { out = ex.run1("rope", in); });
      std::vector<std::shared_ptr<void>> keepalive;
      ex.move_keepalive_to(keepalive);
      std::vector<int32_t> positions{3, 0, 117, 2047};
      if (given_inv_freq) positions.insert(positions.end(), {40000, 131071});
      for (const int32_t pos : positions) {
        std::vector<Tensor> host{random_tensor(DType::F32, {1, 9, 64}, 951 + static_cast<uint32_t>(pos)), i32({pos})};
        if (given_inv_freq) host.push_back(default_inv_freq(64));
        upload(device, in[0], host[0]);
        upload(device, in[1], host[1]);
        plan->replay();
        device.backend().synchronize();
        EXPECT_LE(normalized_mse(ref1("rope", host), device.download(out.device)), 1e-7) << "position " << pos;
      }
    }
  }
}

// ---- in-place semantics ----------------------------------------------------------------------

TEST(InPlaceOps, RegistryDeclaresKvWriteCacheUpdatedInPlace) {
  const OpDef& op = find_op("kv_write");
  EXPECT_EQ(in_place_input(op, 0), std::optional<size_t>(0));
  const std::vector<TensorSpec> in{{DType::F16, {8, 2, 4}}, {DType::F16, {3, 2, 4}}, {DType::I32, {1}}};
  EXPECT_EQ(op.infer(in, {}), std::vector<TensorSpec>{in[0]});
  EXPECT_EQ(in_place_input(find_op("attention"), 0), std::nullopt);
}

TEST(InPlaceOps, ReferenceIsPureAndDeviceRunUpdatesTheUploadedInput) {
  const Tensor cache = random_tensor(DType::F16, {6, 1, 3}, 960), rows = random_tensor(DType::F16, {2, 1, 3}, 961);
  const Tensor before = cache.clone();
  const Tensor expected = ref1("kv_write", {cache, rows, i32({4})});
  EXPECT_TRUE(test::same_bits(cache, before)) << "the reference changed its input";
  EXPECT_TRUE(test::same_bits(expected.slice(0, 4, 6).contiguous(), rows));
  EXPECT_TRUE(test::same_bits(expected.slice(0, 0, 4).contiguous(), cache.slice(0, 0, 4).contiguous()));
  for (const std::string& device : available_device_ids(true)) {
    const auto out = Device::open(device).run(find_op("kv_write"), {cache, rows, i32({4})}, {});
    EXPECT_TRUE(test::same_bits(out.at(0), expected)) << device;
  }
}

TEST(InPlaceOps, EncoderRefusesASeparateOutputBuffer) {
  for (const std::string& device_id : kernel_devices()) {
    const Device device = Device::open(device_id);
    const std::vector<DeviceTensor> in{device.upload(Tensor::zeros(DType::F32, {4, 1, 2})),
                                       device.upload(Tensor::zeros(DType::F32, {1, 1, 2})), device.upload(i32({0}))};
    const std::vector<DeviceTensor> separate{device.upload(Tensor::zeros(DType::F32, {4, 1, 2}))};
    EncodeContext ctx(device.backend());
    EXPECT_THROW(find_op("kv_write").encode(ctx, in, separate, {}), std::logic_error) << device_id;
  }
}

TEST(InPlaceOps, ExecutorOutputAliasesTheInputOnDevicesAndIsTheReferenceOnCpu) {
  const Tensor cache = random_tensor(DType::BF16, {5, 2, 2}, 970), rows = random_tensor(DType::BF16, {1, 2, 2}, 971);
  const Tensor expected = ref1("kv_write", {cache, rows, i32({2})});
  for (const std::string& device_id : available_device_ids(true)) {
    const Device device = Device::open(device_id);
    Executor ex(device);
    const Value c = ex.input(cache);
    const Value out = ex.run1("kv_write", {c, ex.input(rows), ex.input(i32({2}))});
    if (!device.is_cpu()) {
      EXPECT_EQ(out.device.buffer, c.device.buffer) << device_id;
    }
    EXPECT_TRUE(test::same_bits(ex.read(out), expected)) << device_id;
  }
}

// ---- per-step values the reference refuses: the kernels stay in bounds ---------------------

TEST(DecodeOps, ReferenceRefusesOutOfRangeStartAndKvLen) {
  const Tensor cache = Tensor::zeros(DType::F32, {4, 1, 2}), rows = Tensor::zeros(DType::F32, {2, 1, 2});
  EXPECT_THROW(
      {
        try {
          ref1("kv_write", {cache, rows, i32({3})});
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("start[0] = 3: rows 3..4 are outside the cache's 0..3"), std::string::npos)
              << e.what();
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_THROW(ref1("kv_write", {cache, rows, i32({-1})}), std::invalid_argument);
  const Tensor q = Tensor::zeros(DType::F32, {2, 3, 1, 4}), kv = Tensor::zeros(DType::F32, {2, 6, 1, 4});
  EXPECT_NO_THROW(ref1("attention", {q, kv, kv, i32({6, 3})}, {{"causal", 1}}));
  EXPECT_THROW(ref1("attention", {q, kv, kv, i32({6, 2})}, {{"causal", 1}}), std::invalid_argument);  // < sq
  EXPECT_THROW(ref1("attention", {q, kv, kv, i32({7, 3})}), std::invalid_argument);                  // > skmax
  EXPECT_THROW(ref1("attention", {q, kv, kv, i32({0, 3})}), std::invalid_argument);
}

TEST(DecodeOps, KernelsClampWhatTheReferenceRefuses) {
  const Tensor cache = random_tensor(DType::F16, {4, 1, 3}, 980), rows = random_tensor(DType::F16, {2, 1, 3}, 981);
  const Tensor q = random_tensor(DType::F32, {1, 2, 2, 8}, 982), k = random_tensor(DType::F32, {1, 6, 1, 8}, 983),
               v = random_tensor(DType::F32, {1, 6, 1, 8}, 984);
  const Tensor full = ref1("attention", {q, k, v, i32({6})});
  for (const std::string& device_id : kernel_devices()) {
    SCOPED_TRACE(device_id);
    const Device device = Device::open(device_id);
    for (int32_t bad : {3, -1, 1 << 30}) {  // rows bad..bad+1 are not all in the cache: nothing is written
      EXPECT_TRUE(test::same_bits(device.run(find_op("kv_write"), {cache, rows, i32({bad})}, {}).at(0), cache)) << bad;
    }
    // kv_len past the cache reads the whole cache, and no further.
    EXPECT_LE(normalized_mse(full, device.run(find_op("attention"), {q, k, v, i32({1000})}, {}).at(0)), 1e-7);
    // A row that sees no key (kv_len 0, or causal with kv_len < sq) has no softmax: NaN, not a crash.
    for (const auto& [len, causal] : {std::pair{0, 0}, std::pair{-5, 0}, std::pair{1, 1}}) {
      const Tensor out = device.run(find_op("attention"), {q, k, v, i32({len})}, {{"causal", causal}}).at(0);
      EXPECT_TRUE(std::isnan(out.to_float_vector().front())) << "kv_len " << len << " causal " << causal;
    }
  }
}

// ---- attention is sdpa in another layout ----------------------------------------------------

TEST(DecodeOps, AttentionEqualsSdpaWhereTheirShapesOverlap) {
  struct Shape5 {
    int64_t heads, kv_heads, sq, sk, d;
    int causal;
  };
  for (const Shape5 s : {Shape5{9, 3, 1, 200, 64, 1}, Shape5{4, 2, 13, 31, 32, 1}, Shape5{3, 3, 5, 1100, 16, 0}}) {
    SCOPED_TRACE(std::to_string(s.heads) + "/" + std::to_string(s.kv_heads) + " heads, sq " + std::to_string(s.sq) +
                 ", sk " + std::to_string(s.sk));
    // sdpa's [heads, tokens, dim] are attention's [tokens, heads, dim] transposed.
    const Tensor q = random_tensor(DType::F32, {s.heads, s.sq, s.d}, 990), k = random_tensor(DType::F32, {s.kv_heads, s.sk, s.d}, 991),
                 v = random_tensor(DType::F32, {s.kv_heads, s.sk, s.d}, 992);
    auto tokens_major = [](const Tensor& t) { return t.transpose(0, 1).contiguous().reshape({1, t.size(1), t.size(0), t.size(2)}); };
    const OpParams params{{"causal", s.causal}};
    const std::vector<Tensor> sdpa_in{q, k, v};
    const std::vector<Tensor> att_in{tokens_major(q), tokens_major(k), tokens_major(v), i32({static_cast<int32_t>(s.sk)})};
    for (const std::string& device_id : available_device_ids(true)) {
      const Device device = Device::open(device_id);
      const Tensor sdpa = device.run(find_op("sdpa"), sdpa_in, params).at(0);
      const Tensor att = device.run(find_op("attention"), att_in, params).at(0);
      if (device.is_cpu()) {
        EXPECT_TRUE(test::same_bits(att, tokens_major(sdpa)));  // the references: one computation in double
      } else {
        // The kernels add in different orders (attention four elements at a time): float rounding apart.
        EXPECT_LE(normalized_mse(tokens_major(sdpa), att), 1e-12) << device_id;
      }
    }
  }
}

}  // namespace
}  // namespace pq::rt
