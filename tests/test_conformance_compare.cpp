// The conformance suite's own rules: how an output is compared with the reference (NaN positions,
// infinities, signed zeros, NMSE bounds per dtype), and that every float op's cases feed it
// float16, bfloat16 and the special values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "runtime/conformance.h"
#include "runtime/ops/op_helpers.h"

namespace {

using pq::DType;
using pq::Tensor;
using pq::rt::OutputCheck;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::string compare(const OutputCheck& check, DType dtype, const std::vector<float>& ref, const std::vector<float>& out) {
  const auto n = static_cast<int64_t>(ref.size());
  double nmse = 0.0;
  return pq::rt::compare_output(check, Tensor::from_floats(dtype, {n}, ref), Tensor::from_floats(dtype, {n}, out), nmse);
}

TEST(ConformanceCompare, NaNPositionsMustAgree) {
  const OutputCheck nmse_check;
  EXPECT_EQ(compare(nmse_check, DType::F32, {kNaN, 1.0f, 2.0f}, {kNaN, 1.0f, 2.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F32, {kNaN, 1.0f, 2.0f}, {0.0f, 1.0f, 2.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F32, {3.0f, 1.0f, 2.0f}, {kNaN, 1.0f, 2.0f}), "");
  // A NaN of another sign or payload is still a NaN.
  EXPECT_EQ(compare(nmse_check, DType::BF16, {kNaN, 1.0f}, {-kNaN, 1.0f}), "");
}

TEST(ConformanceCompare, InfinitiesMustBeIdentical) {
  const OutputCheck nmse_check;
  EXPECT_EQ(compare(nmse_check, DType::F16, {kInf, -kInf, 1.0f}, {kInf, -kInf, 1.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F16, {kInf, 1.0f}, {-kInf, 1.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F32, {kInf, 1.0f}, {3.4e38f, 1.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F32, {kInf, 1.0f}, {kNaN, 1.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F32, {5.0f, 1.0f}, {kInf, 1.0f}), "");
}

TEST(ConformanceCompare, FiniteValuesUseTheBoundOfTheOutputDtype) {
  const OutputCheck nmse_check;  // 1e-7 for float32
  // Non-finite reference elements are left out of the NMSE: only 1 vs 1.001 counts.
  EXPECT_EQ(compare(nmse_check, DType::F32, {kNaN, kInf, 1000.0f}, {kNaN, kInf, 1000.0f}), "");
  EXPECT_NE(compare(nmse_check, DType::F32, {kNaN, 1.0f}, {kNaN, 1.001f}), "");
  // float16: one element of four an ulp off passes (NMSE 1.2e-7); 4 ulps on every element fails.
  EXPECT_EQ(compare(nmse_check, DType::F16, {1.0f, 1.5f, 1.25f, 1.75f}, {1.0f, 1.5f, 1.25f, 1.75f + 1.0f / 1024}), "");
  EXPECT_NE(compare(nmse_check, DType::F16, {1.0f, 1.5f}, {1.0f + 4.0f / 1024, 1.5f + 4.0f / 1024}), "");
  EXPECT_DOUBLE_EQ(pq::rt::nmse_bound_for(nmse_check, DType::F16), pq::rt::kNmseBoundF16);
  EXPECT_DOUBLE_EQ(pq::rt::nmse_bound_for(nmse_check, DType::BF16), pq::rt::kNmseBoundBF16);
  EXPECT_DOUBLE_EQ(pq::rt::nmse_bound_for(nmse_check, DType::F32), 1e-7);
  const OutputCheck loose{.nmse_bound = 1e-3, .why = "test"};
  EXPECT_DOUBLE_EQ(pq::rt::nmse_bound_for(loose, DType::F16), 1e-3);
}

TEST(ConformanceCompare, ExactChecksCompareSignedZerosButNotNaNPayloads) {
  const OutputCheck exact{.exact = true};
  EXPECT_EQ(compare(exact, DType::F16, {-0.0f, kNaN, kInf}, {-0.0f, -kNaN, kInf}), "");
  EXPECT_NE(compare(exact, DType::F16, {-0.0f, 1.0f}, {0.0f, 1.0f}), "");
  EXPECT_NE(compare(exact, DType::F32, {1.0f, 2.0f}, {1.0f, std::nextafter(2.0f, 3.0f)}), "");
  EXPECT_NE(compare(exact, DType::I8, {1.0f, 2.0f}, {1.0f, 3.0f}), "");
}

bool is_activation(const Tensor& t) { return pq::rt::is_float_dtype(t.dtype()); }

struct Coverage {
  std::set<DType> dtypes;          // of input 0
  std::set<DType> special_dtypes;  // cases whose float inputs hold NaN, +inf, -inf and -0
};

Coverage coverage(const pq::rt::OpDef& op) {
  Coverage c;
  for (const auto& oc : op.cases()) {
    if (oc.inputs.empty() || !is_activation(oc.inputs[0])) continue;
    c.dtypes.insert(oc.inputs[0].dtype());
    bool nan = false, pos_inf = false, neg_inf = false, neg_zero = false;
    for (const auto& t : oc.inputs) {
      if (!is_activation(t)) continue;
      for (float v : t.to_float_vector()) {
        nan = nan || std::isnan(v);
        pos_inf = pos_inf || v == kInf;
        neg_inf = neg_inf || v == -kInf;
        neg_zero = neg_zero || (v == 0.0f && std::signbit(v));
      }
    }
    if (nan && pos_inf && neg_inf && neg_zero) c.special_dtypes.insert(oc.inputs[0].dtype());
  }
  return c;
}

// Every op whose first input is a float activation runs in float32, float16 and bfloat16, and
// meets NaN, ±inf and -0 together in one case at least. The others take codes or integers first (their float
// inputs are quantization scales): pack/unpack, the int8 matmuls and the dequantizers.
TEST(ConformanceCases, EveryFloatOpCoversEveryDtypeAndTheSpecialValues) {
  const std::set<std::string> no_float_activations = {"pack_codes",   "unpack_codes",         "matmul_i8_i32",
                                                      "linear_w8a8",  "dequantize_symmetric", "dequantize_affine"};
  const std::set<DType> all = {DType::F32, DType::F16, DType::BF16};
  for (const auto& op : pq::rt::all_ops()) {
    SCOPED_TRACE(op.name);
    const Coverage c = coverage(op);
    if (no_float_activations.count(op.name)) {
      EXPECT_TRUE(c.dtypes.empty()) << "has float activations after all";
      continue;
    }
    EXPECT_EQ(c.dtypes, all);
    EXPECT_FALSE(c.special_dtypes.empty()) << "no case with NaN, +inf, -inf and -0";
  }
}

}  // namespace
