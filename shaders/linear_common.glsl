// Shared pieces of the linear family's shaders (shaders/linear*.comp): bindings, the
// parameter block (runtime/ops/linear_common.h's LinearParams), element formats and the
// load/decode helpers. The mirror of cl/common_linear.cl.
#ifndef PORTAQUANT_LINEAR_COMMON_GLSL
#define PORTAQUANT_LINEAR_COMMON_GLSL
#include "common.glsl"

// Element formats (ElemFormat in runtime/ops/linear_common.h).
const uint LIN_FMT_F32 = 0u;
const uint LIN_FMT_F16 = 1u;
const uint LIN_FMT_BF16 = 2u;
const uint LIN_FMT_I8 = 3u;
const uint LIN_FMT_E4M3FN = 4u;
const uint LIN_FMT_E4M3FNUZ = 5u;
const uint LIN_FMT_E5M2 = 6u;
const uint LIN_FMT_U4 = 7u;
const uint LIN_FMT_U2 = 8u;

// Every buffer is read through 32-bit words (no 8/16-bit storage feature needed). Unused
// bindings are bound to some input and never read.
layout(std430, binding = 0) readonly buffer XBuf { uint x_words[]; };
layout(std430, binding = 1) readonly buffer WBuf { uint w_words[]; };
layout(std430, binding = 2) readonly buffer ScaleBuf { uint scale_words[]; };
layout(std430, binding = 3) readonly buffer ShiftBuf { uint shift_words[]; };
layout(std430, binding = 4) readonly buffer BiasBuf { uint bias_words[]; };
layout(std430, binding = 5) buffer YBuf { uint y_words[]; };

layout(push_constant) uniform Params {
  uint n, m, k;
  uint x_format;
  float x_scale;
  uint w_format;
  uint scale_format;
  uint group_size;
  uint packed_rows;
  uint w_row_stride, w_col_stride;
  uint has_bias;
  uint x_batch_stride, w_batch_stride, y_batch_stride;
  uint raw_int;
  uint y_format;     // LIN_FMT_F32/F16/BF16 (the DT_* codes of common.glsl)
  uint bias_format;  // LIN_FMT_F32/F16/BF16
  uint y_row_stride; // elements between rows of y
  uint rows_per_item;    // specialised kernels: rows of W per invocation
  uint x_rows_per_item;  // specialised kernels: rows of x per invocation
  uint k_split;          // specialised kernels: invocations sharing one row's k
  float norm_eps;        // specialised GEMV with an add_rmsnorm epilogue: the norm's epsilon
  uint norm_format;      //   and its weight's LIN_FMT_F32/F16/BF16
  uint rope_q_heads, rope_kv_heads;  // the rope_kv_write epilogue: heads of y,
  uint rope_half_dim, rope_max_len;  //   rotary_dim / 2 and the caches' rows
} p;

bool linear_float_weights() { return p.w_format <= LIN_FMT_BF16; }

// ---- decoding ---------------------------------------------------------------------------------

// f16 bits → float, exact without relying on the driver's denormal handling for 16-bit values
// (a subnormal f16 scale flushed to zero would silently zero a row).
float linear_f16(uint h) {
  const uint sign = (h & 0x8000u) << 16;
  const uint e = (h >> 10) & 31u, mt = h & 1023u;
  if (e == 0u) return uintBitsToFloat(sign | floatBitsToUint(float(mt) * uintBitsToFloat(103u << 23)));  // mt · 2^-24
  if (e == 31u) return uintBitsToFloat(sign | 0x7F800000u | (mt << 13));
  return uintBitsToFloat(sign | ((e + 112u) << 23) | (mt << 13));
}

// Four float8 codes (the bytes of a word) → floats, bit-exact (host/float_format.h): E4M3FN bias 7,
// NaN = S.1111.111; E4M3FNUZ bias 8, NaN = 0x80, no infinity or -0; E5M2 bias 15 with IEEE
// infinities and NaNs. Normal and subnormal values are both computed and selected, without a
// branch on the codes, so every lane of a SIMD CPU driver runs the same instructions; fmt is one
// for the whole launch.
vec4 linear_decode_f8x4(uint fmt, uint word) {
  const uint mbits = fmt == LIN_FMT_E5M2 ? 2u : 3u;
  const uint bias = fmt == LIN_FMT_E5M2 ? 15u : (fmt == LIN_FMT_E4M3FNUZ ? 8u : 7u);
  const uvec4 b = (uvec4(word) >> uvec4(0u, 8u, 16u, 24u)) & 0xFFu;
  const uvec4 magnitude = b & 0x7Fu, e = magnitude >> mbits, mt = b & ((1u << mbits) - 1u), sign = (b & 0x80u) << 24;
  // Subnormals: mt · 2^(1 - bias - mbits), a product of exact powers of two.
  const uvec4 subnormal = floatBitsToUint(vec4(mt) * uintBitsToFloat((128u - bias - mbits) << 23));
  const uvec4 normal = ((e + (127u - bias)) << 23) | (mt << (23u - mbits));
  uvec4 bits = mix(normal, subnormal, equal(e, uvec4(0u))) | sign;
  if (fmt == LIN_FMT_E5M2) {
    bits = mix(bits, mix(sign | 0x7F800000u, uvec4(0x7FC00000u), notEqual(mt, uvec4(0u))), equal(e, uvec4(31u)));
  } else {
    bits = mix(bits, uvec4(0x7FC00000u), fmt == LIN_FMT_E4M3FNUZ ? equal(b, uvec4(0x80u)) : equal(magnitude, uvec4(0x7Fu)));
  }
  return uintBitsToFloat(bits);
}

float linear_decode_f8(uint fmt, uint b) { return linear_decode_f8x4(fmt, b).x; }

int linear_i8(uint b) { return int(b << 24) >> 24; }

float linear_decode8(uint fmt, uint b) { return fmt == LIN_FMT_I8 ? float(linear_i8(b)) : linear_decode_f8(fmt, b); }

float linear_load_x(uint i) {
  if (p.x_format == LIN_FMT_F32) return uintBitsToFloat(x_words[i]);
  if (p.x_format == LIN_FMT_F16) return linear_f16(WORD_HALF(x_words, i));
  if (p.x_format == LIN_FMT_BF16) return uintBitsToFloat(WORD_HALF(x_words, i) << 16);
  return linear_decode8(p.x_format, WORD_BYTE(x_words, i));
}

// A float16/bfloat16 element (its 16 bits) as a float.
float linear_half(uint fmt, uint h) { return fmt == LIN_FMT_F16 ? linear_f16(h) : uintBitsToFloat(h << 16); }

// Element i of a float32/float16/bfloat16 buffer bound as words (a macro: GLSL passes no buffers).
#define LINEAR_LOAD_FLOAT(words, fmt, i) \
  ((fmt) == LIN_FMT_F32 ? uintBitsToFloat(words[i]) : linear_half(fmt, WORD_HALF(words, i)))

float linear_load_scale(uint i) { return LINEAR_LOAD_FLOAT(scale_words, p.scale_format, i); }
float linear_load_shift(uint i) { return LINEAR_LOAD_FLOAT(shift_words, p.scale_format, i); }

// W[row, col] as the shaders multiply it: 8-bit codes unscaled (the per-row scale goes on the
// finished dot product), sub-byte codes dequantized with their group's scale and shift
// (quanto's planar packing: group g sits in packed row g mod R at bit plane g / R), float
// weights (float32/16/bfloat16) through their strides.
// W[row, col]'s group, packed byte index, bit offset and code mask in quanto's planar layout.
struct PlanarCode {
  uint group, byte_index, shift, mask;
};

PlanarCode linear_planar_locate(uint row, uint col) {
  const uint bits = p.w_format == LIN_FMT_U4 ? 4u : 2u;
  const uint group_in_row = col / p.group_size;
  PlanarCode c;
  c.group = row * (p.k / p.group_size) + group_in_row;
  const uint plane = c.group / p.packed_rows;
  c.byte_index = (c.group - plane * p.packed_rows) * p.group_size + (col - group_in_row * p.group_size);
  c.shift = bits * plane;
  c.mask = (1u << bits) - 1u;
  return c;
}

float linear_load_weight(uint w_base, uint row, uint col) {
  if (p.w_format == LIN_FMT_U4 || p.w_format == LIN_FMT_U2) {
    const PlanarCode c = linear_planar_locate(row, col);
    const uint q = (WORD_BYTE(w_words, c.byte_index) >> c.shift) & c.mask;
    return linear_load_scale(c.group) * float(q) - linear_load_shift(c.group);
  }
  if (linear_float_weights()) return LINEAR_LOAD_FLOAT(w_words, p.w_format, w_base + row * p.w_row_stride + col * p.w_col_stride);
  return linear_decode8(p.w_format, WORD_BYTE(w_words, row * p.k + col));
}

float linear_row_scale(uint row) {
#ifdef LINEAR_GROUP_SCALES_ONLY
  return 1.0;  // a shader for group-wise weights only, whose binding 2 need not be a storage buffer
#endif
  const bool per_row = p.w_format >= LIN_FMT_I8 && p.w_format <= LIN_FMT_E5M2;
  return per_row ? linear_load_scale(row) : 1.0;
}

float linear_finish(float acc, uint col) {
  const float v = acc * (p.x_scale * linear_row_scale(col));
  return p.has_bias != 0u ? v + LINEAR_LOAD_FLOAT(bias_words, p.bias_format, col) : v;
}

// ---- 4 consecutive elements (word-aligned rows: k % 4 == 0, sub-byte G % 4 == 0) ------------

bool linear_word_aligned() {
  const bool sub_byte = p.w_format == LIN_FMT_U4 || p.w_format == LIN_FMT_U2;
  return p.k % 4u == 0u && (!sub_byte || p.group_size % 4u == 0u);
}

// The four bytes of a word, sign-extended.
ivec4 linear_i8x4(uint word) {
  return ivec4(bitfieldExtract(int(word), 0, 8), bitfieldExtract(int(word), 8, 8), bitfieldExtract(int(word), 16, 8),
               bitfieldExtract(int(word), 24, 8));
}

vec4 linear_decode8x4(uint fmt, uint word) {
  if (fmt == LIN_FMT_I8) return vec4(linear_i8x4(word));
  return linear_decode_f8x4(fmt, word);
}

// x[i..i+3], i a multiple of 4. f16 goes through the driver's conversion here (a flushed f16
// subnormal x, below 6.1e-5, changes a dot product negligibly; scales use linear_f16).
vec4 linear_load_x4(uint i) {
  if (p.x_format == LIN_FMT_F32) {
    return vec4(uintBitsToFloat(x_words[i]), uintBitsToFloat(x_words[i + 1u]), uintBitsToFloat(x_words[i + 2u]),
                uintBitsToFloat(x_words[i + 3u]));
  }
  if (p.x_format == LIN_FMT_F16) return vec4(unpackHalf2x16(x_words[i / 2u]), unpackHalf2x16(x_words[i / 2u + 1u]));
  if (p.x_format == LIN_FMT_BF16) {
    const uint a = x_words[i / 2u], b = x_words[i / 2u + 1u];
    return uintBitsToFloat(uvec4(a << 16, a & 0xFFFF0000u, b << 16, b & 0xFFFF0000u));
  }
  return linear_decode8x4(p.x_format, x_words[i / 4u]);
}

// W[row, col..col+3] (col a multiple of 4), as linear_load_weight.
vec4 linear_load_weight4(uint w_base, uint row, uint col) {
  if (p.w_format == LIN_FMT_U4 || p.w_format == LIN_FMT_U2) {
    const PlanarCode c = linear_planar_locate(row, col);
    const uvec4 q = (uvec4(w_words[c.byte_index / 4u]) >> (uvec4(0u, 8u, 16u, 24u) + c.shift)) & c.mask;
    return linear_load_scale(c.group) * vec4(q) - linear_load_shift(c.group);
  }
  if (p.w_format == LIN_FMT_F32) {
    const uint i = w_base + row * p.w_row_stride + col;
    return vec4(uintBitsToFloat(w_words[i]), uintBitsToFloat(w_words[i + 1u]), uintBitsToFloat(w_words[i + 2u]),
                uintBitsToFloat(w_words[i + 3u]));
  }
  if (linear_float_weights()) {  // 16-bit rows, contiguous and word-aligned: i is a multiple of 4
    const uint i = (w_base + row * p.w_row_stride + col) / 2u;
    const uint a = w_words[i], b = w_words[i + 1u];
    return vec4(linear_half(p.w_format, a & 0xFFFFu), linear_half(p.w_format, a >> 16), linear_half(p.w_format, b & 0xFFFFu),
                linear_half(p.w_format, b >> 16));
  }
  return linear_decode8x4(p.w_format, w_words[(row * p.k + col) / 4u]);
}

#endif
