// fused_linear (runtime/ops/linear_fused.cpp): a projection and the add_rmsnorm after it. On
// CPU devices (lavapipe, pocl) it is one launch whose outputs have the bits of linear_qbits and
// add_rmsnorm run one after the other on the same device, and it leaves its counter zero for
// the next launch; elsewhere it is those two launches. (The conformance suite holds it to the
// CPU reference on every device; tests/test_stacked_projections.cpp holds whole decoders.)
#include <gtest/gtest.h>

#include <stdexcept>

#include "host/quant/quantized_weight.h"
#include "runtime/device.h"
#include "runtime/op_registry.h"
#include "runtime/ops/linear_layout.h"
#include "runtime/ops/op_helpers.h"
#include "tests/test_support.h"

namespace pq::rt {
namespace {

constexpr int64_t kK = 576, kM = 577, kGroup = 64;

struct Problem {
  std::vector<DeviceTensor> linear_in, tail;  // x, codes, scale, shift; then h, norm weight, counter
  OpParams linear_params;
};

Problem upload_problem(const Device& device) {
  QuantizeOptions options;
  options.group_size = kGroup;
  const QuantizedWeight w = quantize_weight(random_tensor(DType::F32, {kM, kK}, 31), QType::QInt4, options);
  Problem p;
  for (const Tensor& t : {random_tensor(DType::F32, {1, kK}, 32), linear::repack_blocked_codes(w.serialized_data(), kM, kK, kGroup, 4),
                          linear::repack_blocked_groups(w.scale, kM, kK / kGroup),
                          linear::repack_blocked_groups(w.shift, kM, kK / kGroup)}) {
    p.linear_in.push_back(device.upload(t));
  }
  for (const Tensor& t : {random_tensor(DType::F32, {1, kM}, 33, -2.0f, 2.0f), random_tensor(DType::F32, {kM}, 34, 0.5f, 1.5f),
                          Tensor::zeros(DType::I32, {1})}) {
    p.tail.push_back(device.upload(t));
  }
  p.linear_params = OpParams{{"bits", 4}, {"layout", 1}, {"rows", static_cast<double>(kM)}, {"group_size", static_cast<double>(kGroup)}};
  return p;
}

std::vector<DeviceTensor> allocate(const Device& device, const std::vector<TensorSpec>& specs) {
  std::vector<DeviceTensor> out;
  for (const TensorSpec& s : specs) out.push_back(device.allocate(s));
  return out;
}

TEST(FusedLinear, OneLaunchOnCpuDevicesWithTheBitsOfTheTwoOps) {
  for (const std::string& id : available_device_ids(false)) {
    const Device device = Device::open(id);
    const Problem p = upload_problem(device);
    OpParams fused_params = p.linear_params;
    fused_params.set("linear", 1);
    fused_params.set("eps", 1e-5);
    std::vector<DeviceTensor> fused_in = p.linear_in;
    fused_in.insert(fused_in.end(), p.tail.begin(), p.tail.end());
    const OpDef& fused = find_op("fused_linear");
    const std::vector<DeviceTensor> fused_out = allocate(device, fused.infer(tensor_specs(fused_in), fused_params));
    EncodeContext ctx(device.backend());
    const auto plan = device.backend().record([&] { fused.encode(ctx, fused_in, fused_out, fused_params); });
    const bool one_launch = device.info().device_type == "cpu";
    EXPECT_EQ(plan->launch_count(), one_launch ? 1u : 2u) << id;

    // The two ops one after the other, on the same device.
    const std::vector<DeviceTensor> y = allocate(device, {{DType::F32, {1, kM}}});
    const std::vector<DeviceTensor> separate = allocate(device, {{DType::F32, {1, kM}}, {DType::F32, {1, kM}}});
    find_op("linear_qbits").encode(ctx, p.linear_in, y, p.linear_params);
    find_op("add_rmsnorm").encode(ctx, {p.tail[0], y[0], p.tail[1]}, separate, {{"eps", 1e-5}});
    for (int replay = 0; replay < 3; ++replay) {  // the counter must be back at zero every time
      plan->replay();
      device.backend().synchronize();
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_TRUE(test::same_bits(device.download(fused_out[i]), device.download(separate[i])))
            << id << ": output " << i << " of replay " << replay;
      }
      EXPECT_EQ(device.download(p.tail[2]).to_float_vector(), std::vector<float>{0.0f}) << id;
    }
  }
}

TEST(FusedLinear, BadInputsAreRefusedNamingTheOpAndItsPart) {
  const OpDef& fused = find_op("fused_linear");
  const OpParams params{{"linear", 2}, {"transpose_b", 1}, {"eps", 1e-5}};
  const auto error = [&](std::vector<TensorSpec> in, const OpParams& p) {
    try {
      fused.infer(in, p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const TensorSpec x{DType::F32, {1, 32}}, w{DType::F32, {7, 32}}, norm{DType::F32, {7}}, counter{DType::I32, {1}};
  EXPECT_EQ(error({x, w, {DType::F32, {1, 7}}, norm, counter}, params), "");
  const std::string h = error({x, w, {DType::F32, {1, 8}}, norm, counter}, params);
  EXPECT_NE(h.find("op 'fused_linear': its add_rmsnorm part"), std::string::npos) << h;
  const std::string c = error({x, w, {DType::F32, {1, 7}}, norm, {DType::F32, {1}}}, params);
  EXPECT_NE(c.find("counter must be int32 [1]"), std::string::npos) << c;
  const std::string eps = error({x, w, {DType::F32, {1, 7}}, norm, counter}, {{"linear", 2}, {"transpose_b", 1}});
  EXPECT_NE(eps.find("eps"), std::string::npos) << eps;
  const std::string linear = error({x, w, {DType::F32, {1, 7}}, norm, counter}, {{"linear", 5}, {"eps", 1e-5}});
  EXPECT_NE(linear.find("linear must be 0 (linear_qbytes), 1 (linear_qbits) or 2 (matmul_f32)"), std::string::npos) << linear;
}

}  // namespace
}  // namespace pq::rt
