// Shared pieces of the linear family's programs (cl/linear*.cl): the parameter block, the
// element formats and the load/decode/store helpers. The mirror of shaders/linear_common.glsl;
// the parameter block is runtime/ops/linear_common.h's LinearParams.

// Element formats (ElemFormat in runtime/ops/linear_common.h).
#define LIN_FMT_F32 0u
#define LIN_FMT_F16 1u
#define LIN_FMT_BF16 2u
#define LIN_FMT_I8 3u
#define LIN_FMT_E4M3FN 4u
#define LIN_FMT_E4M3FNUZ 5u
#define LIN_FMT_E5M2 6u
#define LIN_FMT_U4 7u
#define LIN_FMT_U2 8u

typedef struct {
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
  uint y_format;     // LIN_FMT_F32/F16/BF16 (the DT_* codes of common.cl)
  uint bias_format;  // LIN_FMT_F32/F16/BF16
  uint y_row_stride; // elements between rows of y
  uint rows_per_item;    // specialised kernels: rows of W per work-item
  uint x_rows_per_item;  // specialised kernels: rows of x per work-item
  uint k_split;          // specialised kernels: work-items sharing one row's k
  float norm_eps;        // the specialised GEMV's add_rmsnorm epilogue: the norm's epsilon
  uint norm_format;
  uint rope_q_heads, rope_kv_heads;  // the rope_kv_write epilogue (cl/linear_gemv.cl): heads of y,
  uint rope_half_dim, rope_max_len;  //   rotary_dim / 2 and the caches' rows
} linear_params;

inline bool linear_float_weights(const linear_params* p) { return p->w_format <= LIN_FMT_BF16; }

// ---- decoding ---------------------------------------------------------------------------------

// float8 code → float, bit-exact (host/float_format.h): E4M3FN bias 7, NaN = S.1111.111;
// E4M3FNUZ bias 8, NaN = 0x80, no infinity or -0; E5M2 bias 15 with IEEE infinities and NaNs.
inline float linear_decode_f8(uint fmt, uint b) {
  const uint mbits = fmt == LIN_FMT_E5M2 ? 2u : 3u;
  const uint bias = fmt == LIN_FMT_E5M2 ? 15u : (fmt == LIN_FMT_E4M3FNUZ ? 8u : 7u);
  const uint magnitude = b & 0x7Fu;
  const uint e = magnitude >> mbits;
  const uint mt = b & ((1u << mbits) - 1u);
  if ((fmt == LIN_FMT_E4M3FNUZ && b == 0x80u) || (fmt == LIN_FMT_E4M3FN && magnitude == 0x7Fu)) return NAN;
  if (fmt == LIN_FMT_E5M2 && e == 31u) return mt != 0u ? NAN : ((b & 0x80u) ? -INFINITY : INFINITY);
  // Subnormals: mt · 2^(1 - bias - mbits), a product of exact powers of two.
  const float value = e == 0u ? (float)mt * as_float((128u - bias - mbits) << 23)
                              : as_float(((e + 127u - bias) << 23) | (mt << (23u - mbits)));
  return (b & 0x80u) ? -value : value;
}

// Element i of a buffer holding `fmt` (float, 16-bit float, or an 8-bit code, unscaled).
inline float linear_load(__global const uchar* buf, uint fmt, uint i) {
  switch (fmt) {
    case LIN_FMT_F32: return ((__global const float*)buf)[i];
    case LIN_FMT_F16: return vload_half(i, (__global const half*)buf);
    case LIN_FMT_BF16: return load_bf16((__global const ushort*)buf, i);
    case LIN_FMT_I8: return (float)(char)buf[i];
    default: return linear_decode_f8(fmt, buf[i]);
  }
}

// W[row, col] as the kernels multiply it: 8-bit codes unscaled (linear_row_scale() applies the
// per-row scale to the finished dot product), sub-byte codes dequantized with their group's
// scale and shift (quanto's planar packing: group g's codes sit in packed row g mod R at bit
// plane g / R), float weights (float32/16/bfloat16) through their strides.
typedef struct {
  uint group, byte, shift, mask;  // W[row, col]'s group, packed byte, bit offset and code mask
} linear_planar_code;

inline linear_planar_code linear_planar_locate(const linear_params* p, uint row, uint col) {
  const uint bits = p->w_format == LIN_FMT_U4 ? 4u : 2u;
  const uint group_in_row = col / p->group_size;
  linear_planar_code c;
  c.group = row * (p->k / p->group_size) + group_in_row;
  const uint plane = c.group / p->packed_rows;
  c.byte = (c.group - plane * p->packed_rows) * p->group_size + (col - group_in_row * p->group_size);
  c.shift = bits * plane;
  c.mask = (1u << bits) - 1u;
  return c;
}

inline float linear_load_weight(__global const uchar* w, __global const uchar* scale, __global const uchar* shift,
                                const linear_params* p, uint w_base, uint row, uint col) {
  if (p->w_format == LIN_FMT_U4 || p->w_format == LIN_FMT_U2) {
    const linear_planar_code c = linear_planar_locate(p, row, col);
    const uint q = ((uint)w[c.byte] >> c.shift) & c.mask;
    return linear_load(scale, p->scale_format, c.group) * (float)q - linear_load(shift, p->scale_format, c.group);
  }
  if (linear_float_weights(p)) return linear_load(w, p->w_format, w_base + row * p->w_row_stride + col * p->w_col_stride);
  return linear_load(w, p->w_format, row * p->k + col);
}

inline float linear_row_scale(__global const uchar* scale, const linear_params* p, uint row) {
  const bool per_row = p->w_format >= LIN_FMT_I8 && p->w_format <= LIN_FMT_E5M2;
  return per_row ? linear_load(scale, p->scale_format, row) : 1.0f;
}

// The finished dot product of column col: scaled and biased, before rounding into y's format.
inline float linear_finish(float acc, __global const uchar* scale, __global const uchar* bias, const linear_params* p,
                           uint col) {
  const float v = acc * (p->x_scale * linear_row_scale(scale, p, col));
  return p->has_bias ? v + linear_load(bias, p->bias_format, col) : v;
}

// y[i] = the finished dot product, rounded into y's format.
inline void linear_store(__global uchar* y, uint i, float acc, __global const uchar* scale, __global const uchar* bias,
                         const linear_params* p, uint col) {
  store_float(y, i, p->y_format, linear_finish(acc, scale, bias, p, col));
}

// Integer kernels: the float result, or the raw int32 accumulator when raw_int is set.
inline void linear_store_int(__global uchar* y, uint i, int acc, __global const uchar* scale, __global const uchar* bias,
                             const linear_params* p, uint col) {
  if (p->raw_int) {
    ((__global int*)y)[i] = acc;
  } else {
    linear_store(y, i, (float)acc, scale, bias, p, col);
  }
}
