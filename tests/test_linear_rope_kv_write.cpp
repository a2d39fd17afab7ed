// linear_rope_kv_write (runtime/ops/linear_rope_kv_write.cpp): an attention's stacked q/k/v
// projection and the rope_kv_write after it. On CPU devices (lavapipe, pocl) a decode step is one
// launch whose q and caches have the bits of linear_qbits and rope_kv_write run one after the
// other on the same device, and it leaves its counter zero for the next launch; elsewhere it is
// those two launches. (The conformance suite holds it to the CPU reference on every device;
// tests/test_stacked_projections.cpp holds whole decoders.)
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "host/quant/quantized_weight.h"
#include "runtime/device.h"
#include "runtime/op_registry.h"
#include "runtime/ops/decode_ops.h"
#include "runtime/ops/linear_layout.h"
#include "runtime/ops/op_helpers.h"
#include "tests/test_support.h"

namespace pq::rt {
namespace {

// SmolLM2's attention: 9 query heads, 3 key/value heads of 64 dims, k = 576; a cache of 40 rows.
constexpr int64_t kK = 576, kQHeads = 9, kKvHeads = 3, kDim = 64, kM = (kQHeads + 2 * kKvHeads) * kDim, kGroup = 64;
constexpr int64_t kMaxLen = 40;
constexpr int32_t kStart = 5;

struct Problem {
  std::vector<DeviceTensor> linear_in;  // x, codes, scale, shift
  DeviceTensor positions, inv_freq, start, counter;
  Tensor k_cache, v_cache;  // host copies: each path uploads its own
  OpParams linear_params;
};

Problem upload_problem(const Device& device) {
  QuantizeOptions options;
  options.group_size = kGroup;
  const QuantizedWeight w = quantize_weight(random_tensor(DType::F32, {kM, kK}, 41), QType::QInt4, options);
  Problem p;
  for (const Tensor& t : {random_tensor(DType::F32, {1, kK}, 42), linear::repack_blocked_codes(w.serialized_data(), kM, kK, kGroup, 4),
                          linear::repack_blocked_groups(w.scale, kM, kK / kGroup),
                          linear::repack_blocked_groups(w.shift, kM, kK / kGroup)}) {
    p.linear_in.push_back(device.upload(t));
  }
  p.positions = device.upload(decode::int32_tensor({kStart}));
  p.inv_freq = device.upload(decode::default_inv_freq(kDim));
  p.start = device.upload(decode::int32_tensor({kStart}));
  p.counter = device.upload(Tensor::zeros(DType::I32, {1}));
  p.k_cache = random_tensor(DType::F32, {kMaxLen, kKvHeads, kDim}, 43);
  p.v_cache = random_tensor(DType::F32, {kMaxLen, kKvHeads, kDim}, 44);
  p.linear_params = OpParams{{"bits", 4}, {"layout", 1}, {"rows", static_cast<double>(kM)}, {"group_size", static_cast<double>(kGroup)}};
  return p;
}

TEST(LinearRopeKvWrite, OneLaunchOnCpuDevicesWithTheBitsOfTheTwoOps) {
  for (const std::string& id : available_device_ids(false)) {
    const Device device = Device::open(id);
    const Problem p = upload_problem(device);
    OpParams fused_params = p.linear_params;
    fused_params.set("linear", 1);
    fused_params.set("q_heads", static_cast<double>(kQHeads));
    const DeviceTensor k_cache = device.upload(p.k_cache), v_cache = device.upload(p.v_cache);
    std::vector<DeviceTensor> fused_in{k_cache, v_cache, p.positions, p.inv_freq, p.start, p.counter};
    fused_in.insert(fused_in.end(), p.linear_in.begin(), p.linear_in.end());
    const OpDef& fused = find_op("linear_rope_kv_write");
    const std::vector<DeviceTensor> fused_out{device.allocate(fused.infer(tensor_specs(fused_in), fused_params).front()), k_cache,
                                              v_cache};
    EncodeContext ctx(device.backend());
    const auto plan = device.backend().record([&] { fused.encode(ctx, fused_in, fused_out, fused_params); });
    EXPECT_EQ(plan->launch_count(), device.info().device_type == "cpu" ? 1u : 2u) << id;

    // The two ops one after the other, on the same device, into caches of their own.
    const DeviceTensor y = device.allocate({DType::F32, {1, kM}});
    const DeviceTensor qkv{y.buffer, DType::F32, {1, kQHeads + 2 * kKvHeads, kDim}};
    const std::vector<DeviceTensor> separate{device.allocate({DType::F32, {1, kQHeads, kDim}}), device.upload(p.k_cache),
                                             device.upload(p.v_cache)};
    find_op("linear_qbits").encode(ctx, p.linear_in, {y}, p.linear_params);
    find_op("rope_kv_write").encode(ctx, {qkv, p.positions, p.inv_freq, separate[1], separate[2], p.start}, separate,
                                    {{"q_heads", static_cast<double>(kQHeads)}});
    for (int replay = 0; replay < 3; ++replay) {  // the counter must be back at zero every time
      plan->replay();
      device.backend().synchronize();
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(test::same_bits(device.download(fused_out[i]), device.download(separate[i])))
            << id << ": output " << i << " of replay " << replay;
      }
      EXPECT_EQ(device.download(p.counter).to_float_vector(), std::vector<float>{0.0f}) << id;
    }
    // Row kStart of the caches changed, the others did not.
    const Tensor keys = device.download(fused_out[1]);
    EXPECT_EQ(std::memcmp(keys.raw_data(), p.k_cache.raw_data(), kStart * kKvHeads * kDim * 4), 0) << id;
    EXPECT_NE(std::memcmp(keys.raw_data() + kStart * kKvHeads * kDim * 4, p.k_cache.raw_data() + kStart * kKvHeads * kDim * 4,
                          kKvHeads * kDim * 4),
              0)
        << id;
  }
}

TEST(LinearRopeKvWrite, BadInputsAreRefusedNamingTheOpAndItsPart) {
  const OpDef& op = find_op("linear_rope_kv_write");
  const auto error = [&](const std::vector<TensorSpec>& in, const OpParams& p) {
    try {
      op.infer(in, p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const OpParams params{{"linear", 2}, {"transpose_b", 1}, {"q_heads", 2}};
  const TensorSpec cache{DType::F32, {8, 1, 4}}, positions{DType::I32, {1}}, inv_freq{DType::F32, {2}}, start{DType::I32, {1}},
      counter{DType::I32, {1}}, x{DType::F32, {1, 32}}, w{DType::F32, {16, 32}};
  EXPECT_EQ(error({cache, cache, positions, inv_freq, start, counter, x, w}, params), "");
  const std::string heads = error({cache, cache, positions, inv_freq, start, counter, x, {DType::F32, {15, 32}}}, params);
  EXPECT_NE(heads.find("op 'linear_rope_kv_write': the linear's output must be [n, (q_heads + 2 kv_heads) · d]"), std::string::npos)
      << heads;
  const std::string rope = error({cache, cache, {DType::I32, {2}}, inv_freq, start, counter, x, w}, params);
  EXPECT_NE(rope.find("its rope_kv_write part"), std::string::npos) << rope;
  const std::string c = error({cache, cache, positions, inv_freq, start, {DType::F32, {1}}, x, w}, params);
  EXPECT_NE(c.find("counter must be int32 [1]"), std::string::npos) << c;
  const std::string q = error({cache, cache, positions, inv_freq, start, counter, x, w}, {{"linear", 2}, {"transpose_b", 1}});
  EXPECT_NE(q.find("q_heads"), std::string::npos) << q;
  const std::string linear = error({cache, cache, positions, inv_freq, start, counter, x, w}, {{"linear", 5}, {"q_heads", 2}});
  EXPECT_NE(linear.find("linear must be 0 (linear_qbytes), 1 (linear_qbits) or 2 (matmul_f32)"), std::string::npos) << linear;
}

}  // namespace
}  // namespace pq::rt
