#version 450
// Linear layers and matmuls; the mirror of cl/linear.cl (same bindings, parameters, formats and
// tiles): y[b][n, m] = x_scale · row_scale[m] · (x[b][n, k] · W[b][m, k]ᵀ) + bias[m], quantized
// weights decoded in the shader. Formats are parameters, so the family is four pipelines:
// GEMV (n ≤ 8) and tiled GEMM, with float or int32 (INT_ACC: int8 × int8) accumulation. y is
// rounded once into its format; 16-bit outputs go through STORE_FLOAT (neighbouring elements
// belong to other invocations).
//! variant linear_gemv -DGEMV
//! variant linear_gemm -DGEMM
//! variant linear_gemv_i8 -DGEMV -DINT_ACC
//! variant linear_gemm_i8 -DGEMM -DINT_ACC
#extension GL_GOOGLE_include_directive : require
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

// Workgroup shapes; the launch (runtime/ops/linear_common.cpp) uses the same sizes.
const uint LIN_GEMV_LOCAL = 64u;  // invocations per workgroup
const uint LIN_GEMV_ROWS = 4u;    // output columns (rows of W) per workgroup
const uint LIN_GEMV_MAX_N = 8u;   // rows of x served by GEMV
const uint LIN_GEMM_TILE = 32u;   // output tile: 32 rows of x × 32 rows of W
const uint LIN_GEMM_TK = 32u;     // k-slice staged in shared memory per step (a multiple of 4)
const uint LIN_GEMM_LOCAL = 64u;  // 8 × 8 invocations, each computing 4 × 4 outputs strided by 8
const uint LIN_GEMM_SIDE = 8u;

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

// float8 code → float, bit-exact (host/float_format.h): E4M3FN bias 7, NaN = S.1111.111;
// E4M3FNUZ bias 8, NaN = 0x80, no infinity or -0; E5M2 bias 15 with IEEE infinities and NaNs.
float linear_decode_f8(uint fmt, uint b) {
  const uint mbits = fmt == LIN_FMT_E5M2 ? 2u : 3u;
  const uint bias = fmt == LIN_FMT_E5M2 ? 15u : (fmt == LIN_FMT_E4M3FNUZ ? 8u : 7u);
  const uint magnitude = b & 0x7Fu;
  const uint e = magnitude >> mbits;
  const uint mt = b & ((1u << mbits) - 1u);
  const uint sign = (b & 0x80u) << 24;
  if ((fmt == LIN_FMT_E4M3FNUZ && b == 0x80u) || (fmt == LIN_FMT_E4M3FN && magnitude == 0x7Fu)) {
    return uintBitsToFloat(0x7FC00000u);
  }
  if (fmt == LIN_FMT_E5M2 && e == 31u) return uintBitsToFloat(sign | (mt != 0u ? 0x7FC00000u : 0x7F800000u));
  // Subnormals: mt · 2^(1 - bias - mbits), a product of exact powers of two.
  const uint bits = e == 0u ? floatBitsToUint(float(mt) * uintBitsToFloat((128u - bias - mbits) << 23))
                            : (((e + 127u - bias) << 23) | (mt << (23u - mbits)));
  return uintBitsToFloat(sign | bits);
}

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
float linear_load_weight(uint w_base, uint row, uint col) {
  if (p.w_format == LIN_FMT_U4 || p.w_format == LIN_FMT_U2) {
    const uint bits = p.w_format == LIN_FMT_U4 ? 4u : 2u;
    const uint group_in_row = col / p.group_size;
    const uint g = row * (p.k / p.group_size) + group_in_row;
    const uint plane = g / p.packed_rows;
    const uint byte_index = (g - plane * p.packed_rows) * p.group_size + (col - group_in_row * p.group_size);
    const uint q = (WORD_BYTE(w_words, byte_index) >> (bits * plane)) & ((1u << bits) - 1u);
    return linear_load_scale(g) * float(q) - linear_load_shift(g);
  }
  if (linear_float_weights()) return LINEAR_LOAD_FLOAT(w_words, p.w_format, w_base + row * p.w_row_stride + col * p.w_col_stride);
  return linear_decode8(p.w_format, WORD_BYTE(w_words, row * p.k + col));
}

float linear_row_scale(uint row) {
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
  return vec4(linear_decode_f8(fmt, word & 0xFFu), linear_decode_f8(fmt, (word >> 8) & 0xFFu),
              linear_decode_f8(fmt, (word >> 16) & 0xFFu), linear_decode_f8(fmt, word >> 24));
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
    const uint bits = p.w_format == LIN_FMT_U4 ? 4u : 2u;
    const uint group_in_row = col / p.group_size;
    const uint g = row * (p.k / p.group_size) + group_in_row;
    const uint plane = g / p.packed_rows;
    const uint byte_index = (g - plane * p.packed_rows) * p.group_size + (col - group_in_row * p.group_size);
    const uvec4 q = (uvec4(w_words[byte_index / 4u]) >> (uvec4(0u, 8u, 16u, 24u) + bits * plane)) & ((1u << bits) - 1u);
    return linear_load_scale(g) * vec4(q) - linear_load_shift(g);
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

// The accumulation type and the operand loads of this variant.
#ifdef INT_ACC
#define ACC_T int
#define ACC_VEC4 ivec4
ACC_T x_operand(uint x_base, uint i) { return linear_i8(WORD_BYTE(x_words, x_base + i)); }
ACC_T w_operand(uint w_base, uint row, uint col) { return linear_i8(WORD_BYTE(w_words, row * p.k + col)); }
ACC_VEC4 x_operand4(uint i) { return linear_i8x4(x_words[i / 4u]); }
ACC_VEC4 w_operand4(uint w_base, uint row, uint col) { return linear_i8x4(w_words[(row * p.k + col) / 4u]); }
bool w_word_aligned() { return p.k % 4u == 0u; }
int dot4(ivec4 a, ivec4 b) {
  const ivec4 prod = a * b;
  return prod.x + prod.y + prod.z + prod.w;
}
void linear_store(uint i, int acc, uint col) {
  if (p.raw_int != 0u) {
    y_words[i] = uint(acc);
  } else {
    STORE_FLOAT(y_words, i, p.y_format, linear_finish(float(acc), col));
  }
}
#else
#define ACC_T float
#define ACC_VEC4 vec4
ACC_T x_operand(uint x_base, uint i) { return linear_load_x(x_base + i); }
ACC_T w_operand(uint w_base, uint row, uint col) { return linear_load_weight(w_base, row, col); }
ACC_VEC4 x_operand4(uint i) { return linear_load_x4(i); }
ACC_VEC4 w_operand4(uint w_base, uint row, uint col) { return linear_load_weight4(w_base, row, col); }
bool w_word_aligned() { return linear_word_aligned(); }
float dot4(vec4 a, vec4 b) { return dot(a, b); }
void linear_store(uint i, float acc, uint col) { STORE_FLOAT(y_words, i, p.y_format, linear_finish(acc, col)); }
#endif

// ---- GEMV -------------------------------------------------------------------------------------
// A workgroup computes LIN_GEMV_ROWS output columns for every row of x (n ≤ 8): each invocation
// walks its share of k for all of them, so a decoded weight serves n rows of x and an x value
// serves LIN_GEMV_ROWS weights. Partial sums meet in shared memory behind one barrier: few fat
// workgroups and few barriers suit lavapipe (it pays per workgroup and per barrier) and are
// fine on GPUs. Word-aligned rows (every real model) step 4 columns at a time.
#ifdef GEMV
// One row per (column, x row) pair, padded by one so the summing invocations hit distinct banks.
shared ACC_T partial[LIN_GEMV_ROWS * LIN_GEMV_MAX_N][LIN_GEMV_LOCAL + 1u];

void main() {
  const uint col0 = flat_group_id() * LIN_GEMV_ROWS;  // the grid wraps past 65535 groups
  const uint lid = gl_LocalInvocationID.x;
  const uint rows = col0 < p.m ? min(LIN_GEMV_ROWS, p.m - col0) : 0u;  // 0 in wrap padding
  ACC_T acc[LIN_GEMV_ROWS][LIN_GEMV_MAX_N];
  for (uint r = 0u; r < LIN_GEMV_ROWS; ++r) {
    for (uint j = 0u; j < LIN_GEMV_MAX_N; ++j) acc[r][j] = ACC_T(0);
  }
  if (w_word_aligned()) {
    for (uint c = 4u * lid; c < p.k; c += 4u * LIN_GEMV_LOCAL) {
      ACC_VEC4 wv[LIN_GEMV_ROWS];
      for (uint r = 0u; r < LIN_GEMV_ROWS; ++r) wv[r] = r < rows ? w_operand4(0u, col0 + r, c) : ACC_VEC4(0);
      for (uint j = 0u; j < LIN_GEMV_MAX_N && j < p.n; ++j) {
        const ACC_VEC4 xv = x_operand4(j * p.k + c);
        for (uint r = 0u; r < LIN_GEMV_ROWS; ++r) acc[r][j] += dot4(wv[r], xv);
      }
    }
  } else {
    for (uint c = lid; c < p.k; c += LIN_GEMV_LOCAL) {
      ACC_T wv[LIN_GEMV_ROWS];
      for (uint r = 0u; r < LIN_GEMV_ROWS; ++r) wv[r] = r < rows ? w_operand(0u, col0 + r, c) : ACC_T(0);
      for (uint j = 0u; j < LIN_GEMV_MAX_N && j < p.n; ++j) {
        const ACC_T xv = x_operand(0u, j * p.k + c);
        for (uint r = 0u; r < LIN_GEMV_ROWS; ++r) acc[r][j] += wv[r] * xv;
      }
    }
  }
  for (uint r = 0u; r < LIN_GEMV_ROWS; ++r) {
    for (uint j = 0u; j < LIN_GEMV_MAX_N; ++j) partial[r * LIN_GEMV_MAX_N + j][lid] = acc[r][j];
  }
  barrier();
  const uint r = lid / LIN_GEMV_MAX_N, j = lid % LIN_GEMV_MAX_N;
  if (r < rows && j < p.n) {
    ACC_T sum = ACC_T(0);
    for (uint i = 0u; i < LIN_GEMV_LOCAL; ++i) sum += partial[lid][i];
    linear_store(j * p.m + col0 + r, sum, col0 + r);
  }
}
#endif

// ---- GEMM: 32 × 32 output tiles, k staged through shared memory ------------------------------
// Tiles are k-major ([kk][row], padded by one) so the inner product reads a row of each;
// invocation (tx, ty) owns rows ty + 8i and columns tx + 8j: neighbours read neighbouring
// shared words and write neighbouring outputs.
#ifdef GEMM
shared ACC_T xt[LIN_GEMM_TK][LIN_GEMM_TILE + 1u];
shared ACC_T wt[LIN_GEMM_TK][LIN_GEMM_TILE + 1u];

// Staging writes tile[kk][r] = operand (row0 + r, k0 + kk), zero outside the matrix. Where
// rows are word-aligned each invocation stages 4 consecutive k at a time.
void put_x4(uint kk, uint r, ACC_VEC4 v) {
  xt[kk][r] = v.x;
  xt[kk + 1u][r] = v.y;
  xt[kk + 2u][r] = v.z;
  xt[kk + 3u][r] = v.w;
}

void put_w4(uint kk, uint r, ACC_VEC4 v) {
  wt[kk][r] = v.x;
  wt[kk + 1u][r] = v.y;
  wt[kk + 2u][r] = v.z;
  wt[kk + 3u][r] = v.w;
}

void stage_x(uint x_base, uint row0, uint k0, uint tid) {
  if (p.k % 4u == 0u) {
    for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK / 4u; e += LIN_GEMM_LOCAL) {
      const uint r = e / (LIN_GEMM_TK / 4u), kk = 4u * (e % (LIN_GEMM_TK / 4u));
      const uint row = row0 + r, c = k0 + kk;
      const bool inside = row < p.n && c < p.k;  // k % 4 == 0: c < k covers c + 3
      put_x4(kk, r, inside ? x_operand4(x_base + row * p.k + c) : ACC_VEC4(0));
    }
    return;
  }
  for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK; e += LIN_GEMM_LOCAL) {
    const uint r = e / LIN_GEMM_TK, kk = e % LIN_GEMM_TK;
    const uint row = row0 + r, c = k0 + kk;
    xt[kk][r] = row < p.n && c < p.k ? x_operand(x_base, row * p.k + c) : ACC_T(0);
  }
}

void stage_w(uint w_base, uint col0, uint k0, uint tid) {
  // Float B stored [k, m] is contiguous along m: walk the tile along m so reads stay coalesced.
  const bool m_contiguous = linear_float_weights() && p.w_col_stride != 1u;
  if (!m_contiguous && w_word_aligned()) {
    for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK / 4u; e += LIN_GEMM_LOCAL) {
      const uint r = e / (LIN_GEMM_TK / 4u), kk = 4u * (e % (LIN_GEMM_TK / 4u));
      const uint row = col0 + r, c = k0 + kk;
      put_w4(kk, r, row < p.m && c < p.k ? w_operand4(w_base, row, c) : ACC_VEC4(0));
    }
    return;
  }
  for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK; e += LIN_GEMM_LOCAL) {
    const uint r = m_contiguous ? e % LIN_GEMM_TILE : e / LIN_GEMM_TK;
    const uint kk = m_contiguous ? e / LIN_GEMM_TILE : e % LIN_GEMM_TK;
    const uint row = col0 + r, c = k0 + kk;
    wt[kk][r] = row < p.m && c < p.k ? w_operand(w_base, row, c) : ACC_T(0);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % LIN_GEMM_SIDE, ty = tid / LIN_GEMM_SIDE;
  const uint col0 = gl_WorkGroupID.x * LIN_GEMM_TILE, row0 = gl_WorkGroupID.y * LIN_GEMM_TILE;
  const uint batch = gl_WorkGroupID.z;
  ACC_T acc[4][4];
  for (uint i = 0u; i < 4u; ++i) {
    for (uint j = 0u; j < 4u; ++j) acc[i][j] = ACC_T(0);
  }
  for (uint k0 = 0u; k0 < p.k; k0 += LIN_GEMM_TK) {
    stage_x(batch * p.x_batch_stride, row0, k0, tid);
    stage_w(batch * p.w_batch_stride, col0, k0, tid);
    barrier();
    for (uint kk = 0u; kk < LIN_GEMM_TK; ++kk) {
      ACC_T a[4], b[4];
      for (uint i = 0u; i < 4u; ++i) {
        a[i] = xt[kk][ty + LIN_GEMM_SIDE * i];
        b[i] = wt[kk][tx + LIN_GEMM_SIDE * i];
      }
      for (uint i = 0u; i < 4u; ++i) {
        for (uint j = 0u; j < 4u; ++j) acc[i][j] += a[i] * b[j];
      }
    }
    barrier();
  }
  for (uint i = 0u; i < 4u; ++i) {
    const uint row = row0 + ty + LIN_GEMM_SIDE * i;
    for (uint j = 0u; j < 4u; ++j) {
      const uint col = col0 + tx + LIN_GEMM_SIDE * j;
      if (row < p.n && col < p.m) linear_store(batch * p.y_batch_stride + row * p.m + col, acc[i][j], col);
    }
  }
}
#endif
