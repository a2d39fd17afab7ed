// Hand-derived quantizer cases: rounding ties, zero-range rows and groups (where we differ from
// quanto on purpose), qtype limits, and the errors a user gets for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "host/parallel.h"
#include "host/quant/quantized_weight.h"
#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::HasSubstr;
using test::error_of;

Tensor f32(Shape shape, std::vector<float> values) { return Tensor::from_values(DType::F32, std::move(shape), values); }

TEST(QTypes, NamesAndLimitsAreQuantos) {
  EXPECT_EQ(parse_qtype("qfloat8"), QType::QFloat8_E4M3FN);
  EXPECT_EQ(qtype_name(QType::QFloat8_E4M3FN), "qfloat8_e4m3fn");
  EXPECT_EQ(qtype_info(QType::QInt4).qmin, -8.0f);
  EXPECT_EQ(qtype_info(QType::QInt2).qmax, 1.0f);
  EXPECT_EQ(qtype_info(QType::QFloat8_E4M3FNUZ).qmax, 240.0f);
  EXPECT_EQ(qtype_info(QType::QFloat8_E5M2).qmax, 57344.0f);
  EXPECT_THAT(error_of([] { parse_qtype("qint3"); }), HasSubstr("unknown qtype 'qint3'"));
}

TEST(Quantizers, Int8RoundsHalfToEven) {
  // amax 254 → scale 2; 127/2 = 63.5 → 64 (even), 63.5/2 = 31.75 → 32, -254/2 = -127.
  const QuantizedWeight q = quantize_weight(f32({2, 3}, {127, -254, 63.5f, 2.5f, -1, 0.5f}), QType::QInt8);
  EXPECT_EQ(q.scale.to_float_vector(), (std::vector<float>{2.0f, 2.5f / 127.0f}));
  const std::vector<float> codes = q.data.to_float_vector();
  EXPECT_EQ(codes[0], 64);
  EXPECT_EQ(codes[1], -127);
  EXPECT_EQ(codes[2], 32);
  EXPECT_EQ(codes[3], 127);
}

TEST(Quantizers, ZeroRowKeepsQuantosZeroScaleAndDequantizesToZero) {
  // quanto: scale 0 (no epsilon), then 0/0 = NaN, which torch casts to code 0 for int8/uint8
  // (exact), but keeps as a NaN code for float8 (a NaN row): there we store code 0 instead.
  for (QType qtype : {QType::QInt8, QType::QFloat8_E4M3FN, QType::QFloat8_E5M2, QType::QFloat8_E4M3FNUZ, QType::QInt4, QType::QInt2}) {
    const Tensor w = f32({2, 4}, {0, 0, 0, 0, 1, -2, 3, 0.25f});
    const QuantizedWeight q = quantize_weight(w, qtype);
    const std::vector<float> back = dequantize(q).to_float_vector();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(back[static_cast<size_t>(i)], 0.0f) << qtype_name(qtype);
    EXPECT_EQ(q.scale.to_float_vector()[0], 0.0f) << qtype_name(qtype);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(q.data.to_float_vector()[static_cast<size_t>(i)], 0.0f) << qtype_name(qtype);
  }
}

// A Linear(n, 1) weight has a single row: quanto's affine optimizer then reduces over dim 0,
// giving one scale (0) and shift (−w) per element, codes 0, and an exact dequantization.
TEST(Quantizers, SingleRowSubByteWeightIsPerElementAsQuanto) {
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 0.0f, -0.0625f};
  for (QType qtype : {QType::QInt4, QType::QInt2}) {
    const QuantizedWeight q = quantize_weight(f32({1, 5}, values), qtype);
    EXPECT_EQ(q.scale.shape(), (Shape{1, 5}));
    EXPECT_EQ(q.shift.shape(), (Shape{1, 5}));
    EXPECT_EQ(q.scale.to_float_vector(), std::vector<float>(5, 0.0f));
    const std::vector<float> shift = q.shift.to_float_vector();
    for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(shift[i], -values[i]);
    EXPECT_EQ(q.data.to_float_vector(), std::vector<float>(5, 0.0f));
    EXPECT_EQ(q.serialized_data().shape(), (Shape{1, 5}));
    EXPECT_EQ(dequantize(q).to_float_vector(), values);
  }
}

TEST(Quantizers, ConstantGroupDequantizesExactly) {
  const QuantizedWeight q = quantize_weight(f32({2, 3}, {0.5f, 0.5f, 0.5f, -3, 0, 3}), QType::QInt4);
  const std::vector<float> back = dequantize(q).to_float_vector();
  EXPECT_EQ(std::vector<float>(back.begin(), back.begin() + 3), (std::vector<float>{0.5f, 0.5f, 0.5f}));
  // Row 2: min -3, max 3 → scale 6/15 = 0.4, shift 3; codes 0, 7.5→8 (even), 15.
  EXPECT_EQ(q.data.to_float_vector(), (std::vector<float>{0, 0, 0, 0, 8, 15}));
}

TEST(Quantizers, Float8SaturatesAtTheFormatMaximum) {
  const QuantizedWeight q = quantize_weight(f32({2, 2}, {448, -1, 240, 1}), QType::QFloat8_E4M3FNUZ);
  EXPECT_EQ(q.scale.to_float_vector(), (std::vector<float>{448.0f / 240.0f, 1.0f}));
  const std::vector<float> codes = q.data.to_float_vector();
  EXPECT_EQ(codes[0], 240.0f);
  EXPECT_EQ(codes[2], 240.0f);
}

TEST(Quantizers, SingleRowWeightIsPerTensor) {
  const QuantizedWeight q = quantize_weight(f32({1, 3}, {1, -4, 2}), QType::QInt8);
  EXPECT_FALSE(q.axis.has_value());
  EXPECT_EQ(q.scale.dim(), 0);
}

TEST(Quantizers, ThreadCountDoesNotChangeResults) {
  std::vector<float> values(64 * 320);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i) * 0.37f);
  const Tensor w = f32({64, 320}, values);
  for (QType qtype : {QType::QInt8, QType::QInt4}) {
    for (Optimizer opt : {Optimizer::Absmax, Optimizer::Max, Optimizer::Hqq}) {
      if ((opt == Optimizer::Absmax) == is_sub_byte(qtype)) continue;
      set_num_threads(1);
      const QuantizedWeight one = quantize_weight(w, qtype, {.optimizer = opt});
      set_num_threads(4);
      const QuantizedWeight four = quantize_weight(w, qtype, {.optimizer = opt});
      set_num_threads(0);
      EXPECT_TRUE(test::same_bits(one.data, four.data));
      EXPECT_TRUE(test::same_bits(one.scale, four.scale));
    }
  }
}

TEST(Quantizers, BadInputGetsAClearError) {
  const Tensor w = f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_THAT(error_of([&] { quantize_weight(w, QType::QInt8, {.optimizer = Optimizer::Max}, "fc1.weight"); }),
              HasSubstr("weight 'fc1.weight': optimizer 'max' does not apply to qint8"));
  EXPECT_THAT(error_of([&] { quantize_weight(w, QType::QInt4, {.optimizer = Optimizer::Absmax}); }),
              HasSubstr("does not apply to qint4"));
  EXPECT_THAT(error_of([&] { quantize_weight(w, QType::QInt4, {.group_size = 3}, "fc2.weight"); }),
              HasSubstr("group size 3 does not divide the 4 inputs"));
  EXPECT_THAT(error_of([&] { quantize_weight(f32({2, 2}, {1, NAN, 0, 1}), QType::QInt8, {}, "x"); }),
              HasSubstr("weight 'x' contains NaN or infinity"));
  EXPECT_THAT(error_of([&] { quantize_weight(Tensor::zeros(DType::I32, {2, 2}), QType::QInt8); }),
              HasSubstr("has dtype int32"));
  EXPECT_THAT(error_of([&] { quantize_weight(f32({4}, {1, 2, 3, 4}), QType::QInt8); }), HasSubstr("per-tensor"));
}

}  // namespace
}  // namespace pq
