#include "host/float_format.h"

#include <array>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace pq {
namespace {

enum class Overflow { Infinity, NaN, Saturate };

struct FormatSpec {
  int mantissa_bits;
  int bias;
  uint16_t max_finite_code;  // magnitude code of the largest finite value
  Overflow overflow;
  uint16_t nan_code;         // magnitude code written for NaN
  bool signed_nan;           // whether NaN keeps the input's sign
  bool has_negative_zero;
  bool ieee_specials;        // all-ones exponent means inf/NaN
  uint16_t inf_code;         // meaningful when overflow == Infinity
};

const FormatSpec& spec(FloatFormat format) {
  static const std::array<FormatSpec, 5> specs = {{
      {10, 15, 0x7BFF, Overflow::Infinity, 0x7E00, true, true, true, 0x7C00},  // F16
      {7, 127, 0x7F7F, Overflow::Infinity, 0x7FC0, false, true, true, 0x7F80},  // BF16
      {3, 7, 0x7E, Overflow::Saturate, 0x7F, true, true, false, 0},             // E4M3FN
      {3, 8, 0x7F, Overflow::NaN, 0x80, false, false, false, 0},                // E4M3FNUZ
      {2, 15, 0x7B, Overflow::Infinity, 0x7F, true, true, true, 0x7C},         // E5M2
  }};
  return specs[static_cast<size_t>(format)];
}

int total_bits(FloatFormat format) {
  return (format == FloatFormat::F16 || format == FloatFormat::BF16) ? 16 : 8;
}

uint64_t shift_right_round_even(uint64_t value, int shift) {
  if (shift <= 0) return value << -shift;
  if (shift >= 63) return 0;  // value < 2^25 here, so it is below half a quantum
  const uint64_t quotient = value >> shift;
  const uint64_t remainder = value & ((uint64_t{1} << shift) - 1);
  const uint64_t half = uint64_t{1} << (shift - 1);
  const bool round_up = remainder > half || (remainder == half && (quotient & 1));
  return quotient + (round_up ? 1 : 0);
}

// Magnitude code of a finite, non-negative float32 in `format`; may exceed the largest
// finite code, which the caller turns into inf or NaN.
uint32_t encode_magnitude(const FormatSpec& s, uint32_t bits) {
  const int biased = static_cast<int>((bits >> 23) & 0xFF);
  const uint64_t mantissa = (bits & 0x7FFFFF) | (biased ? 0x800000u : 0u);
  if (mantissa == 0) return 0;
  const int exponent = biased ? biased - 127 : -126;
  const int min_exponent = 1 - s.bias;
  const int quantum_exponent = std::max(exponent, min_exponent) - s.mantissa_bits;
  const uint64_t q = shift_right_round_even(mantissa, quantum_exponent - (exponent - 23));
  if (exponent < min_exponent) return static_cast<uint32_t>(q);
  // A rounding carry into the next binade lands on the right code by construction.
  return static_cast<uint32_t>((static_cast<uint64_t>(exponent + s.bias - 1) << s.mantissa_bits) + q);
}

}  // namespace

uint16_t encode_float(FloatFormat format, float value) {
  const FormatSpec& s = spec(format);
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const bool negative = bits >> 31;
  const uint16_t sign = negative ? static_cast<uint16_t>(1u << (total_bits(format) - 1)) : 0;
  if (std::isnan(value)) return s.signed_nan ? static_cast<uint16_t>(sign | s.nan_code) : s.nan_code;
  uint32_t magnitude = std::isinf(value) ? s.max_finite_code + 1u : encode_magnitude(s, bits & 0x7FFFFFFF);
  if (magnitude > s.max_finite_code) {
    if (s.overflow == Overflow::NaN) {
      return s.signed_nan ? static_cast<uint16_t>(sign | s.nan_code) : s.nan_code;
    }
    magnitude = s.overflow == Overflow::Saturate ? s.max_finite_code : s.inf_code;
  }
  if (magnitude == 0 && !s.has_negative_zero) return 0;
  return static_cast<uint16_t>(sign | magnitude);
}

float decode_float(FloatFormat format, uint16_t code) {
  const FormatSpec& s = spec(format);
  const int bits = total_bits(format);
  const uint16_t sign_bit = static_cast<uint16_t>(1u << (bits - 1));
  const uint16_t magnitude = code & static_cast<uint16_t>(sign_bit - 1);
  const bool negative = (code & sign_bit) != 0;
  if (!s.has_negative_zero && code == sign_bit) return std::nanf("");
  const int exponent_field = magnitude >> s.mantissa_bits;
  const int exponent_max = (1 << (bits - 1 - s.mantissa_bits)) - 1;
  const int mantissa = magnitude & ((1 << s.mantissa_bits) - 1);
  float result;
  if (s.ieee_specials && exponent_field == exponent_max) {
    result = mantissa ? std::nanf("") : INFINITY;
  } else if (!s.ieee_specials && magnitude > s.max_finite_code) {
    result = std::nanf("");
  } else if (exponent_field == 0) {
    result = std::ldexp(static_cast<float>(mantissa), 1 - s.bias - s.mantissa_bits);
  } else {
    result = std::ldexp(static_cast<float>(mantissa + (1 << s.mantissa_bits)),
                        exponent_field - s.bias - s.mantissa_bits);
  }
  return negative ? -result : result;
}

namespace {

std::vector<float> decode_table(FloatFormat format) {
  std::vector<float> table(65536);
  for (uint32_t code = 0; code < 65536; ++code) table[code] = decode_float(format, static_cast<uint16_t>(code));
  return table;
}

}  // namespace

float f16_to_f32(uint16_t code) {
  static const std::vector<float> table = decode_table(FloatFormat::F16);
  return table[code];
}

uint16_t f32_to_bf16(float v) {
  const uint32_t bits = std::bit_cast<uint32_t>(v);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;  // NaN, canonical as torch's scalar path
  // Adding 0x7FFF plus the lowest kept bit rounds half to even; a carry out of the mantissa
  // moves to the next binade or to infinity, as it should.
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

float bf16_to_f32(uint16_t code) {
  return std::bit_cast<float>(static_cast<uint32_t>(code) << 16);
}

float float_format_max(FloatFormat format) {
  return decode_float(format, spec(format).max_finite_code);
}

FloatFormat float_format_of(DType dtype) {
  switch (dtype) {
    case DType::F16: return FloatFormat::F16;
    case DType::BF16: return FloatFormat::BF16;
    case DType::F8_E4M3FN: return FloatFormat::F8_E4M3FN;
    case DType::F8_E4M3FNUZ: return FloatFormat::F8_E4M3FNUZ;
    case DType::F8_E5M2: return FloatFormat::F8_E5M2;
    default: throw std::invalid_argument("no narrow float format for dtype " + std::string(dtype_name(dtype)));
  }
}

float round_to_dtype(DType dtype, float v) {
  switch (dtype) {
    case DType::F32: return v;
    case DType::F16: return f16_to_f32(f32_to_f16(v));
    case DType::BF16: return bf16_to_f32(f32_to_bf16(v));
    default: {
      const FloatFormat format = float_format_of(dtype);
      return decode_float(format, encode_float(format, v));
    }
  }
}

}  // namespace pq
