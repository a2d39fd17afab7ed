// The ops' CPU references — the ground truth the conformance suite holds every device to —
// against torch: small inputs full of NaN, ±inf and -0 in float32, float16 and bfloat16, and
// transformers' LlamaRMSNorm on random float16/bfloat16 rows. The expected values come from
// tests/conformance/make_torch_reference_values.py (torch_reference_values.inc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "host/float_format.h"
#include "runtime/op_registry.h"

namespace {

using pq::DType;
using pq::Tensor;

struct TorchTensor {
  DType dtype;
  pq::Shape shape;
  std::vector<float> values;
  Tensor tensor() const { return Tensor::from_floats(dtype, shape, values); }
};

struct TorchCase {
  const char* op;
  const char* note;
  pq::rt::OpParams params;
  std::vector<TorchTensor> inputs;
  TorchTensor expected;
  size_t output = 0;  // which of the op's outputs `expected` is
};

const std::vector<TorchCase>& torch_cases() {
  static const std::vector<TorchCase> cases = {
#include "conformance/torch_reference_values.inc"
  };
  return cases;
}

// How far our reference may be from torch's where both round a float32 computation: one ulp of
// float16/bfloat16 (the distance from 1 to the next value), relative to max(|torch|, 1); in
// float32 a few ulps on that scale, for torch's vectorized exp/erf/tanh (its gelu at -3.5 is
// 280 ulps from the exact value, which our reference computes).
double tolerance(DType dtype) {
  switch (dtype) {
    case DType::F16: return std::ldexp(1.0, -10);
    case DType::BF16: return std::ldexp(1.0, -7);
    case DType::F32: return 8 * std::ldexp(1.0, -23);
    default: return 0.0;  // integer and float8 codes: exact
  }
}

struct Agreement {
  std::string first_mismatch;  // empty when every element agrees
  int identical = 0;
  int total = 0;
};

// NaN where torch has NaN, the same infinities and signed zeros, other values within one
// rounding step of the dtype.
Agreement agree(const Tensor& ours, const Tensor& torch) {
  Agreement a;
  const auto o = ours.to_float_vector();
  const auto t = torch.to_float_vector();
  const double tol = tolerance(torch.dtype());
  for (size_t i = 0; i < t.size(); ++i) {
    ++a.total;
    const bool same = std::isnan(t[i]) ? std::isnan(o[i]) : o[i] == t[i] && std::signbit(o[i]) == std::signbit(t[i]);
    if (same) {
      ++a.identical;
      continue;
    }
    const bool close = std::isfinite(t[i]) && t[i] != 0.0f && std::isfinite(o[i]) &&
                       std::abs(static_cast<double>(o[i]) - t[i]) <= tol * std::max(1.0, std::abs(static_cast<double>(t[i])));
    if (!close && a.first_mismatch.empty()) {
      a.first_mismatch = "element " + std::to_string(i) + ": ours " + std::to_string(o[i]) + ", torch " + std::to_string(t[i]);
    }
  }
  return a;
}

TEST(OpReferences, FollowTorchOnSpecialValuesInEveryFloatDtype) {
  ASSERT_GE(torch_cases().size(), 60u);
  for (const TorchCase& c : torch_cases()) {
    SCOPED_TRACE(std::string(c.op) + " " + c.note + " " + c.params.to_string());
    std::vector<Tensor> inputs;
    for (const auto& t : c.inputs) inputs.push_back(t.tensor());
    const std::vector<Tensor> out = pq::rt::find_op(c.op).reference(inputs, c.params);
    ASSERT_LT(c.output, out.size());
    const Tensor expected = c.expected.tensor();
    ASSERT_EQ(out[c.output].dtype(), expected.dtype());
    ASSERT_EQ(out[c.output].shape(), expected.shape());
    const Agreement a = agree(out[c.output], expected);
    EXPECT_TRUE(a.first_mismatch.empty()) << a.first_mismatch;
  }
}

// Rounding the normalized value into float16/bfloat16 before the weight multiplies it is what
// makes LlamaRMSNorm's results; a single rounding of weight * x * inv differs on about a quarter
// of these elements (by an ulp), so bit-for-bit agreement checks that the second rounding is there.
TEST(OpReferences, RmsNormIsLlamaRmsNormBitForBit) {
  int checked = 0;
  for (const TorchCase& c : torch_cases()) {
    if (std::string(c.op) != "rmsnorm" || std::string(c.note).find("random rows") == std::string::npos) continue;
    SCOPED_TRACE(c.note);
    std::vector<Tensor> inputs;
    for (const auto& t : c.inputs) inputs.push_back(t.tensor());
    const Tensor ours = pq::rt::find_op("rmsnorm").reference(inputs, c.params)[0];
    const Agreement a = agree(ours, c.expected.tensor());
    EXPECT_EQ(a.identical, a.total) << a.first_mismatch;
    ++checked;
  }
  EXPECT_EQ(checked, 2);  // float16 and bfloat16
}

}  // namespace
