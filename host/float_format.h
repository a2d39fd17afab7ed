// Exact conversions between float32 and the narrow float formats (f16, bf16, float8).
// Rounding is round-to-nearest-even; infinity and overflow follow torch's (2.15) casts:
//   f16, bf16, e5m2: overflow -> inf;  e4m3fn: overflow and inf saturate to ±448;
//   e4m3fnuz: overflow and inf -> NaN (0x80, its only NaN); -0 -> +0 (no negative zero).
// NaN stays NaN. torch's NaN payloads and signs depend on its code path (vectorized or not),
// so we write one canonical quiet NaN per format and promise only that it is a NaN.
#pragma once

#include <cstdint>

#include "host/dtype.h"

namespace pq {

enum class FloatFormat : uint8_t { F16, BF16, F8_E4M3FN, F8_E4M3FNUZ, F8_E5M2 };

uint16_t encode_float(FloatFormat format, float value);
float decode_float(FloatFormat format, uint16_t code);

// Decoding f16/bf16 sits on every hot loop, so it goes through a table.
float f16_to_f32(uint16_t code);
float bf16_to_f32(uint16_t code);
inline uint16_t f32_to_f16(float v) { return encode_float(FloatFormat::F16, v); }
uint16_t f32_to_bf16(float v);  // the same as encode_float(BF16, v), by the usual bit trick

// Largest finite value of a format (65504, 3.389e38, 448, 240, 57344).
float float_format_max(FloatFormat format);

// The float format of a floating dtype other than F32; throws for anything else.
FloatFormat float_format_of(DType dtype);

// The value `v` becomes after a cast to `dtype` and back to float32: the rounding step of
// arithmetic "in the weight's own dtype". F32 returns v unchanged.
float round_to_dtype(DType dtype, float v);

}  // namespace pq
