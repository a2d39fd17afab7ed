// Float conversions against torch's casts, exhaustively over every f16/bf16/float8 code
// (tests/fixtures/casts.safetensors, written by tests/make_fixtures.py), plus hand-derived edges.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "host/float_format.h"
#include "host/safetensors.h"
#include "tests/test_support.h"

namespace pq {
namespace {

const SafetensorsFile& casts() {
  static const SafetensorsFile file = SafetensorsFile::open(test::fixture("casts.safetensors"));
  return file;
}

// Applies `convert` to every element of `input` (as float32) and compares the bits with torch's.
// NaN matches any NaN (see float_format.h); everything else must match to the bit.
Tensor convert_all(const Tensor& input, DType to) {
  return Tensor::from_floats(to, input.shape(), input.to_float_vector());
}

struct Fp8Case {
  const char* name;
  DType dtype;
  FloatFormat format;
};

const Fp8Case kFp8[] = {{"e4m3fn", DType::F8_E4M3FN, FloatFormat::F8_E4M3FN},
                        {"e4m3fnuz", DType::F8_E4M3FNUZ, FloatFormat::F8_E4M3FNUZ},
                        {"e5m2", DType::F8_E5M2, FloatFormat::F8_E5M2}};

TEST(FloatFormat, DecodesEveryFloat8CodeLikeTorch) {
  for (const auto& c : kFp8) {
    const std::vector<float> expected = casts().load(std::string(c.name) + "_decoded").to_float_vector();
    ASSERT_EQ(expected.size(), 256u);
    for (uint32_t code = 0; code < 256; ++code) {
      const float ours = decode_float(c.format, static_cast<uint16_t>(code));
      if (std::isnan(expected[code])) {
        EXPECT_TRUE(std::isnan(ours)) << c.name << " code " << code;
      } else {
        EXPECT_EQ(std::bit_cast<uint32_t>(ours), std::bit_cast<uint32_t>(expected[code])) << c.name << " code " << code;
      }
    }
  }
}

TEST(FloatFormat, DecodesEveryHalfAndBfloat16Code) {
  // Decoding is checked through the round trip code -> f32 -> code, which must be the identity
  // for all 2^16 codes except NaNs (which stay NaN); the encode tests below pin the f32 values.
  for (uint32_t code = 0; code < 65536; ++code) {
    const auto c = static_cast<uint16_t>(code);
    const float h = f16_to_f32(c);
    const float b = bf16_to_f32(c);
    if (std::isnan(h)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(h))));
    } else {
      EXPECT_EQ(f32_to_f16(h), c) << code;
    }
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(b))));
    } else {
      EXPECT_EQ(f32_to_bf16(b), c) << code;
    }
    EXPECT_EQ(std::bit_cast<uint32_t>(decode_float(FloatFormat::F16, c)), std::bit_cast<uint32_t>(h)) << code;
  }
}

TEST(FloatFormat, EncodesEveryHalfAndBfloat16ValueLikeTorch) {
  const Tensor all_bf16 = casts().load("all_bf16");
  const Tensor all_f16 = casts().load("all_f16");
  EXPECT_TRUE(test::same_values(convert_all(all_bf16, DType::F16), casts().load("bf16_to_f16")));
  EXPECT_TRUE(test::same_values(convert_all(all_f16, DType::BF16), casts().load("f16_to_bf16")));
  for (const auto& c : kFp8) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(test::same_values(convert_all(all_bf16, c.dtype), casts().load(std::string("bf16_to_") + c.name)));
    EXPECT_TRUE(test::same_values(convert_all(all_f16, c.dtype), casts().load(std::string("f16_to_") + c.name)));
  }
}

// The float32 inputs are rebuilt here exactly as make_fixtures.py builds them: each midpoint
// between consecutive codes, then the float32 just below and just above it.
void append_with_neighbours(std::vector<float>& values, float mid) {
  const uint32_t bits = std::bit_cast<uint32_t>(mid);
  values.insert(values.end(), {mid, std::bit_cast<float>(bits - 1), std::bit_cast<float>(bits + 1)});
}

std::vector<float> f16_midpoints() {
  std::vector<float> values;
  for (uint32_t code = 0; code < 0x7C00; ++code) {
    const double lo = f16_to_f32(static_cast<uint16_t>(code));
    const double hi = f16_to_f32(static_cast<uint16_t>(code + 1));
    append_with_neighbours(values, static_cast<float>((lo + hi) / 2));
  }
  return values;
}

std::vector<float> bf16_midpoints() {
  std::vector<float> values;
  for (uint32_t code = 0; code < 0x7F80; ++code) append_with_neighbours(values, std::bit_cast<float>((code << 16) | 0x8000u));
  return values;
}

TEST(FloatFormat, RoundsFloat32MidpointsToEvenLikeTorch) {
  const std::vector<float> f16_inputs = f16_midpoints();
  const Shape f16_shape{static_cast<int64_t>(f16_inputs.size())};
  EXPECT_TRUE(test::same_values(Tensor::from_floats(DType::F16, f16_shape, f16_inputs), casts().load("f16_midpoints_to_f16")));
  const std::vector<float> bf16_inputs = bf16_midpoints();
  const Shape bf16_shape{static_cast<int64_t>(bf16_inputs.size())};
  EXPECT_TRUE(test::same_values(Tensor::from_floats(DType::BF16, bf16_shape, bf16_inputs), casts().load("bf16_midpoints_to_bf16")));
}

TEST(FloatFormat, HandDerivedFloat8Edges) {
  // e4m3fn: 448 is the largest finite value; torch saturates anything beyond, infinity too.
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FN, 448.0f), 0x7E);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FN, 464.0f), 0x7E);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FN, 470.0f), 0x7E);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FN, -INFINITY), 0xFE);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FN, NAN), 0x7F);
  // e4m3fnuz does not saturate: 248 is the tie between 240 and 256 and rounds up, to NaN.
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FNUZ, 247.0f), 0x7F);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FNUZ, 248.0f), 0x80);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FN, 0.0029296875f), 0x02);  // 1.5 × 2^-9 → ties to even: 2 × 2^-9
  // e4m3fnuz: no negative zero (0x80 is NaN), max 240.
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FNUZ, -0.0f), 0x00);
  EXPECT_EQ(encode_float(FloatFormat::F8_E4M3FNUZ, 240.0f), 0x7F);
  EXPECT_TRUE(std::isnan(decode_float(FloatFormat::F8_E4M3FNUZ, 0x80)));
  // e5m2 overflows to infinity: 61440 is the tie between 57344 and 65536 (odd mantissa → up).
  EXPECT_EQ(encode_float(FloatFormat::F8_E5M2, 57344.0f), 0x7B);
  EXPECT_EQ(encode_float(FloatFormat::F8_E5M2, 61440.0f), 0x7C);
  EXPECT_EQ(float_format_max(FloatFormat::F8_E4M3FN), 448.0f);
  EXPECT_EQ(float_format_max(FloatFormat::F8_E4M3FNUZ), 240.0f);
  EXPECT_EQ(float_format_max(FloatFormat::F8_E5M2), 57344.0f);
  EXPECT_EQ(float_format_max(FloatFormat::F16), 65504.0f);
}

TEST(FloatFormat, HandDerivedHalfEdges) {
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);               // tie at the top rounds to even = inf
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // half the smallest subnormal: tie to 0
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -24)), 0x0002);  // 1.5 subnormal quanta: tie to 2
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(NAN), 0x7FC0);
}

}  // namespace
}  // namespace pq
