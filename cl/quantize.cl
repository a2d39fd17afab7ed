// Quantize family: the mirror of shaders/quantize.comp (same arguments, parameters and
// arithmetic). Each work-item handles 4 consecutive elements, as each shader invocation owns
// one 32-bit word of codes. Arithmetic follows host/quant bit for bit: see common.cl.

// Products and sums must each be rounded as the host rounds them (no fused multiply-add).
#pragma OPENCL FP_CONTRACT OFF

// Index of the scale of flat element i: 0 one per row (i / inner), 1 one per column
// (i % inner), 2 one for the tensor.
inline uint scale_index(uint i, uint mode, uint inner) {
  if (mode == 0u) return i / inner;
  return mode == 1u ? i % inner : 0u;
}

// Code kinds, as runtime/ops/quantize.cpp: signed int8, unsigned affine (uint8), or float8
// with the format number FMT_E4M3FN.. (host FloatFormat).
#define CODE_INT8 0u
#define CODE_UINT 1u

typedef struct {
  uint n;           // elements
  uint inner;       // row length (scale modes 0 and 1)
  uint scale_mode;
  uint x_dtype;     // arithmetic happens in this dtype, as torch does it
  uint s_dtype;     // dtype of scale and shift
  uint code;        // CODE_INT8, CODE_UINT or a float8 format
  float qmin;
  float qmax;
} quantize_params;

// One code: int8 clamp(rint(x/s)); uint clamp(rint((x+shift)/s)); float8 RNE(clamp(x/s)),
// where each operation is rounded to x's dtype.
inline uint quantize_one(uint x, uint s, uint shift, const quantize_params* p) {
  uint v = x;
  if (p->code == CODE_UINT) {
    const float sum = as_float(x) + as_float(shift);
    v = round_bits_to_dtype(as_uint(sum), p->x_dtype);
  }
  v = round_bits_to_dtype(div_rn_bits(v, s), p->x_dtype);
  const float value = as_float(v);
  if (p->code <= CODE_UINT) {
    if (isnan(value)) return 0u;
    return (uint)(int)clamp(rint(value), p->qmin, p->qmax) & 0xFFu;
  }
  // A zero row has scale 0: 0/0 gives code 0, where quanto would store a NaN code (host rule).
  if (isnan(value) && (x & 0x7FFFFFFFu) == 0u && (s & 0x7FFFFFFFu) == 0u) return 0u;
  // Clamp on the bit pattern (a NaN stays NaN, as std::clamp leaves it).
  if (value > p->qmax) v = as_uint(p->qmax);
  if (value < p->qmin) v = as_uint(p->qmin);
  return f32_bits_to_narrow(v, p->code);
}

// shift is the scale again when the code is not CODE_UINT.
__kernel void quantize_codes(__global const uchar* x, __global const uchar* scale, __global const uchar* shift,
                             __global uchar* codes, const quantize_params p) {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  for (uint k = 0u; k < count; ++k) {
    const uint i = first + k;
    const uint si = scale_index(i, p.scale_mode, p.inner);
    const uint s = load_float_bits(scale, si, p.s_dtype);
    const uint sh = p.code == CODE_UINT ? load_float_bits(shift, si, p.s_dtype) : 0u;
    codes[i] = (uchar)quantize_one(load_float_bits(x, i, p.x_dtype), s, sh, &p);
  }
}

typedef struct {
  uint n;
  uint inner;
  uint scale_mode;
  uint s_dtype;      // dtype of scale, shift and output
  uint code;         // CODE_INT8, CODE_UINT (planar-packed) or a float8 format
  uint bits;         // CODE_UINT: bits per code
  uint packed_rows;  // CODE_UINT: rows of the packed matrix
} dequantize_params;

// The code of element i as a float: planar-packed codes live in byte
// (r % packed_rows, j) at lane r / packed_rows (host/quant/packing.h).
inline float load_code(__global const uchar* codes, uint i, const dequantize_params* p) {
  if (p->code == CODE_UINT) {
    const uint r = i / p->inner;
    const uint byte_index = (r % p->packed_rows) * p->inner + i % p->inner;
    const uint lane = r / p->packed_rows;
    return (float)(((uint)codes[byte_index] >> (p->bits * lane)) & ((1u << p->bits) - 1u));
  }
  if (p->code == CODE_INT8) return (float)((__global const char*)codes)[i];
  return as_float(narrow_to_f32_bits(codes[i], p->code));
}

// shift is the scale again when the code is not CODE_UINT.
__kernel void dequantize_codes(__global const uchar* codes, __global const uchar* scale, __global const uchar* shift,
                               __global uchar* out, const dequantize_params p) {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  for (uint k = 0u; k < count; ++k) {
    const uint i = first + k;
    const uint si = scale_index(i, p.scale_mode, p.inner);
    // s*q, then - shift when affine, each rounded to the scale's dtype.
    const float product = as_float(load_float_bits(scale, si, p.s_dtype)) * load_code(codes, i, &p);
    uint v = round_bits_to_dtype(as_uint(product), p.s_dtype);
    if (p.code == CODE_UINT) {
      const float shifted = as_float(v) - as_float(load_float_bits(shift, si, p.s_dtype));
      v = round_bits_to_dtype(as_uint(shifted), p.s_dtype);
    }
    if (p.s_dtype == DT_F32) {
      ((__global uint*)out)[i] = v;
    } else {
      ((__global ushort*)out)[i] = (ushort)f32_bits_to_narrow(v, p.s_dtype == DT_F16 ? FMT_F16 : FMT_BF16);
    }
  }
}

typedef struct {
  uint n;            // bytes of the packed output
  uint cols;
  uint rows;         // of the unpacked codes
  uint packed_rows;
  uint bits;
} pack_params;

// packed[r][j] = sum over lanes of codes[r + lane*packed_rows][j] << (bits*lane).
__kernel void pack_codes(__global const uchar* codes, __global uchar* packed, const pack_params p) {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  const uint mask = (1u << p.bits) - 1u;
  for (uint k = 0u; k < count; ++k) {
    const uint o = first + k;
    const uint r = o / p.cols;
    const uint j = o % p.cols;
    uint value = 0u;
    for (uint lane = 0u; lane < 8u / p.bits; ++lane) {
      const uint source_row = r + lane * p.packed_rows;
      if (source_row >= p.rows) break;
      value |= ((uint)codes[source_row * p.cols + j] & mask) << (p.bits * lane);
    }
    packed[o] = (uchar)value;
  }
}

typedef struct {
  uint n;            // bytes of the unpacked output
  uint cols;
  uint packed_rows;
  uint bits;
} unpack_params;

__kernel void unpack_codes(__global const uchar* packed, __global uchar* codes, const unpack_params p) {
  const uint first = flat_id() * 4u;
  if (first >= p.n) return;
  const uint count = min(p.n - first, 4u);
  for (uint k = 0u; k < count; ++k) {
    const uint o = first + k;
    const uint r = o / p.cols;
    const uint source = (r % p.packed_rows) * p.cols + o % p.cols;
    codes[o] = (uchar)(((uint)packed[source] >> (p.bits * (r / p.packed_rows))) & ((1u << p.bits) - 1u));
  }
}
