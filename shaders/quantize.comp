#version 450
// Quantize family: the mirror of cl/quantize.cl (same bindings, parameters and arithmetic).
// Each invocation owns one 32-bit word of byte codes (4 elements), so no two invocations
// write the same word; the last partial word is read-modify-written to keep the bytes past
// the tensor. Arithmetic follows host/quant bit for bit: see the helpers in common.glsl.
//! variant quantize_codes -DQUANTIZE
//! variant dequantize_codes -DDEQUANTIZE
//! variant pack_codes -DPACK
//! variant unpack_codes -DUNPACK
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Index of the scale of flat element i: 0 one per row (i / inner), 1 one per column
// (i % inner), 2 one for the tensor.
uint scale_index(uint i, uint mode, uint inner) {
  if (mode == 0u) return i / inner;
  return mode == 1u ? i % inner : 0u;
}

// Stores the `count` (1..4) low bytes of `word` into word w of `words`; a partial word keeps
// its other bytes (they may lie past the tensor).
#define STORE_WORD_BYTES(words, w, word, count) \
  words[w] = (count) == 4u ? (word) : (words[w] & ~((1u << (8u * (count))) - 1u)) | (word)

// Code kinds, as runtime/ops/quantize.cpp: signed int8, unsigned affine (uint8), or float8
// with the format number FMT_E4M3FN.. (host FloatFormat).
const uint CODE_INT8 = 0u;
const uint CODE_UINT = 1u;

#ifdef QUANTIZE
layout(std430, binding = 0) readonly buffer X { uint x_words[]; };
layout(std430, binding = 1) readonly buffer S { uint s_words[]; };
layout(std430, binding = 2) readonly buffer Shift { uint shift_words[]; };  // scale again when symmetric
layout(std430, binding = 3) buffer Out { uint codes[]; };
layout(push_constant) uniform Params {
  uint n;           // elements
  uint inner;       // row length (scale modes 0 and 1)
  uint scale_mode;
  uint x_dtype;     // arithmetic happens in this dtype, as torch does it
  uint s_dtype;     // dtype of scale and shift
  uint code;        // CODE_INT8, CODE_UINT or a float8 format
  float qmin;
  float qmax;
} p;

// One code: int8 clamp(rint(x/s)); uint clamp(rint((x+shift)/s)); float8 RNE(clamp(x/s)),
// where each operation is rounded to x's dtype.
uint quantize_one(uint x, uint s, uint shift) {
  uint v = x;
  if (p.code == CODE_UINT) {
    precise float sum = uintBitsToFloat(x) + uintBitsToFloat(shift);
    v = round_bits_to_dtype(floatBitsToUint(sum), p.x_dtype);
  }
  v = round_bits_to_dtype(div_rn_bits(v, s), p.x_dtype);
  const float value = uintBitsToFloat(v);
  if (p.code <= CODE_UINT) {
    if (isnan(value)) return 0u;
    return uint(int(clamp(roundEven(value), p.qmin, p.qmax))) & 0xFFu;
  }
  // A zero row has scale 0: 0/0 gives code 0, where quanto would store a NaN code (host rule).
  if (isnan(value) && (x & 0x7FFFFFFFu) == 0u && (s & 0x7FFFFFFFu) == 0u) return 0u;
  // Clamp on the bit pattern (a NaN stays NaN, as std::clamp leaves it).
  if (value > p.qmax) v = floatBitsToUint(p.qmax);
  if (value < p.qmin) v = floatBitsToUint(p.qmin);
  return f32_bits_to_narrow(v, p.code);
}

void main() {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  uint word = 0u;
  for (uint k = 0u; k < count; ++k) {
    const uint i = first + k;
    const uint si = scale_index(i, p.scale_mode, p.inner);
    const uint s = LOAD_FLOAT_BITS(s_words, si, p.s_dtype);
    const uint shift = p.code == CODE_UINT ? LOAD_FLOAT_BITS(shift_words, si, p.s_dtype) : 0u;
    word |= quantize_one(LOAD_FLOAT_BITS(x_words, i, p.x_dtype), s, shift) << (8u * k);
  }
  STORE_WORD_BYTES(codes, first >> 2, word, count);
}
#endif

#ifdef DEQUANTIZE
layout(std430, binding = 0) readonly buffer Codes { uint code_words[]; };
layout(std430, binding = 1) readonly buffer S { uint s_words[]; };
layout(std430, binding = 2) readonly buffer Shift { uint shift_words[]; };  // scale again when symmetric
layout(std430, binding = 3) buffer Out { uint out_words[]; };
layout(push_constant) uniform Params {
  uint n;
  uint inner;
  uint scale_mode;
  uint s_dtype;      // dtype of scale, shift and output
  uint code;         // CODE_INT8, CODE_UINT (planar-packed) or a float8 format
  uint bits;         // CODE_UINT: bits per code
  uint packed_rows;  // CODE_UINT: rows of the packed matrix
} p;

// The code of element i as a float: planar-packed codes live in byte
// (r % packed_rows, j) at lane r / packed_rows (host/quant/packing.h).
float load_code(uint i) {
  if (p.code == CODE_UINT) {
    const uint r = i / p.inner;
    const uint byte_index = (r % p.packed_rows) * p.inner + i % p.inner;
    const uint lane = r / p.packed_rows;
    return float((WORD_BYTE(code_words, byte_index) >> (p.bits * lane)) & ((1u << p.bits) - 1u));
  }
  const uint c = WORD_BYTE(code_words, i);
  if (p.code == CODE_INT8) return float(int(c << 24) >> 24);
  return uintBitsToFloat(narrow_to_f32_bits(c, p.code));
}

// float32 bits of s*q (and of s*q - shift when affine), each op rounded to the scale's dtype.
uint dequantize_one(uint i) {
  const uint si = scale_index(i, p.scale_mode, p.inner);
  precise float product = uintBitsToFloat(LOAD_FLOAT_BITS(s_words, si, p.s_dtype)) * load_code(i);
  uint v = round_bits_to_dtype(floatBitsToUint(product), p.s_dtype);
  if (p.code == CODE_UINT) {
    precise float shifted = uintBitsToFloat(v) - uintBitsToFloat(LOAD_FLOAT_BITS(shift_words, si, p.s_dtype));
    v = round_bits_to_dtype(floatBitsToUint(shifted), p.s_dtype);
  }
  return v;
}

void main() {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  if (p.s_dtype == DT_F32) {
    for (uint k = 0u; k < count; ++k) out_words[first + k] = dequantize_one(first + k);
    return;
  }
  const uint fmt = p.s_dtype == DT_F16 ? FMT_F16 : FMT_BF16;
  // Two 16-bit values per word; an odd tail keeps the high half of its word.
  for (uint k = 0u; k < count; k += 2u) {
    const uint lo = f32_bits_to_narrow(dequantize_one(first + k), fmt);
    const uint w = (first + k) >> 1;
    if (k + 1u < count) {
      out_words[w] = lo | (f32_bits_to_narrow(dequantize_one(first + k + 1u), fmt) << 16);
    } else {
      out_words[w] = (out_words[w] & 0xFFFF0000u) | lo;
    }
  }
}
#endif

#ifdef PACK
layout(std430, binding = 0) readonly buffer Codes { uint code_words[]; };
layout(std430, binding = 1) buffer Out { uint packed[]; };
layout(push_constant) uniform Params {
  uint n;            // bytes of the packed output
  uint cols;
  uint rows;         // of the unpacked codes
  uint packed_rows;
  uint bits;
} p;

// packed[r][j] = sum over lanes of codes[r + lane*packed_rows][j] << (bits*lane).
uint pack_one(uint o) {
  const uint r = o / p.cols;
  const uint j = o % p.cols;
  const uint mask = (1u << p.bits) - 1u;
  uint value = 0u;
  for (uint lane = 0u; lane < 8u / p.bits; ++lane) {
    const uint source_row = r + lane * p.packed_rows;
    if (source_row >= p.rows) break;
    value |= (WORD_BYTE(code_words, source_row * p.cols + j) & mask) << (p.bits * lane);
  }
  return value;
}

void main() {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  uint word = 0u;
  for (uint k = 0u; k < count; ++k) word |= pack_one(first + k) << (8u * k);
  STORE_WORD_BYTES(packed, first >> 2, word, count);
}
#endif

#ifdef UNPACK
layout(std430, binding = 0) readonly buffer Packed { uint packed_words[]; };
layout(std430, binding = 1) buffer Out { uint codes[]; };
layout(push_constant) uniform Params {
  uint n;            // bytes of the unpacked output
  uint cols;
  uint packed_rows;
  uint bits;
} p;

uint unpack_one(uint o) {
  const uint r = o / p.cols;
  const uint source = (r % p.packed_rows) * p.cols + o % p.cols;
  return (WORD_BYTE(packed_words, source) >> (p.bits * (r / p.packed_rows))) & ((1u << p.bits) - 1u);
}

void main() {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  uint word = 0u;
  for (uint k = 0u; k < count; ++k) word |= unpack_one(first + k) << (8u * k);
  STORE_WORD_BYTES(codes, first >> 2, word, count);
}
#endif
