// Linear layers and matmuls: y[b][n, m] = x_scale · row_scale[m] · (x[b][n, k] · W[b][m, k]ᵀ) + bias[m].
// Quantized weights are decoded in the kernel, never materialized as floats. The element
// formats of x, W, the scales, the bias and y are parameters (a switch per load), so the whole
// family is four kernels: GEMV (n ≤ 8) and tiled GEMM, each with float or int32 accumulation;
// y is rounded once into its format (float32, float16 or bfloat16). Everything
// here mirrors shaders/linear.comp and runtime/ops/linear_common.h (formats, parameters, tiles).
// Names carry a linear_/LIN_ prefix: every program is compiled after the shared common*.cl.
// The parameter block and the decoding helpers are in cl/common_linear.cl.

// Workgroup shapes (runtime/ops/linear_common.cpp launches them).
#define LIN_GEMV_LOCAL 64  // work-items per workgroup
#define LIN_GEMV_ROWS 4    // output columns (rows of W) per workgroup
#define LIN_GEMV_MAX_N 8   // rows of x served by the GEMV kernels
#define LIN_GEMM_TILE 32   // output tile: LIN_GEMM_TILE rows of x × LIN_GEMM_TILE rows of W
#define LIN_GEMM_TK 32     // k-slice staged in local memory per step (a multiple of 4)
#define LIN_GEMM_LOCAL 64  // 8 × 8 work-items, each computing 4 × 4 outputs strided by 8
#define LIN_GEMM_SIDE 8

// ---- GEMV -------------------------------------------------------------------------------------
// A workgroup computes LIN_GEMV_ROWS output columns for every row of x (n ≤ 8): each work-item
// walks its share of k for all of them, so a decoded weight serves n rows of x and an x value
// serves LIN_GEMV_ROWS weights. The partial sums meet in local memory behind one barrier: few
// fat workgroups and few barriers suit CPU devices (lavapipe pays per workgroup and per
// barrier) and are fine on GPUs. Where rows of W are word-aligned (k % 4 == 0, and G % 4 == 0
// for sub-byte codes: every real model) work-items step 4 columns at a time with vector loads.

inline bool linear_word_aligned(const linear_params* p) {
  const bool sub_byte = p->w_format == LIN_FMT_U4 || p->w_format == LIN_FMT_U2;
  return p->k % 4u == 0u && (!sub_byte || p->group_size % 4u == 0u);
}

inline float4 linear_decode8x4(uint fmt, uchar4 b) {
  if (fmt == LIN_FMT_I8) return convert_float4(as_char4(b));
  return (float4)(linear_decode_f8(fmt, b.s0), linear_decode_f8(fmt, b.s1), linear_decode_f8(fmt, b.s2),
                  linear_decode_f8(fmt, b.s3));
}

// Elements i..i+3 (i a multiple of 4) of a buffer holding `fmt`.
inline float4 linear_load4(__global const uchar* buf, uint fmt, uint i) {
  switch (fmt) {
    case LIN_FMT_F32: return vload4(i / 4u, (__global const float*)buf);
    case LIN_FMT_F16: return vload_half4(i / 4u, (__global const half*)buf);
    case LIN_FMT_BF16: return as_float4(convert_uint4(vload4(i / 4u, (__global const ushort*)buf)) << 16);
    default: return linear_decode8x4(fmt, vload4(i / 4u, buf));
  }
}

// W[row, col..col+3] (col a multiple of 4, rows word-aligned), as linear_load_weight.
inline float4 linear_load_weight4(__global const uchar* w, __global const uchar* scale, __global const uchar* shift,
                                  const linear_params* p, uint w_base, uint row, uint col) {
  if (p->w_format == LIN_FMT_U4 || p->w_format == LIN_FMT_U2) {
    const linear_planar_code c = linear_planar_locate(p, row, col);
    const uint4 q = (convert_uint4(vload4(c.byte / 4u, w)) >> c.shift) & c.mask;
    return linear_load(scale, p->scale_format, c.group) * convert_float4(q) - linear_load(shift, p->scale_format, c.group);
  }
  // Float rows are contiguous here (w_col_stride 1) and word-aligned: the index is a multiple of 4.
  if (linear_float_weights(p)) return linear_load4(w, p->w_format, w_base + row * p->w_row_stride + col);
  return linear_load4(w, p->w_format, row * p->k + col);
}

// acc[r][j] += W[col0 + r, c] · x[j, c] over this work-item's columns c.
inline void linear_gemv_accumulate(float (*acc)[LIN_GEMV_MAX_N], __global const uchar* x, __global const uchar* w,
                                   __global const uchar* scale, __global const uchar* shift, const linear_params* p,
                                   uint col0, uint rows, uint lid) {
  if (linear_word_aligned(p)) {
    for (uint c = 4u * lid; c < p->k; c += 4u * LIN_GEMV_LOCAL) {
      float4 wv[LIN_GEMV_ROWS];
      for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
        wv[r] = r < rows ? linear_load_weight4(w, scale, shift, p, 0u, col0 + r, c) : (float4)(0.0f);
      }
      for (uint j = 0; j < LIN_GEMV_MAX_N && j < p->n; ++j) {
        const float4 xv = linear_load4(x, p->x_format, j * p->k + c);
        for (uint r = 0; r < LIN_GEMV_ROWS; ++r) acc[r][j] += dot(wv[r], xv);
      }
    }
    return;
  }
  for (uint c = lid; c < p->k; c += LIN_GEMV_LOCAL) {
    float wv[LIN_GEMV_ROWS];
    for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
      wv[r] = r < rows ? linear_load_weight(w, scale, shift, p, 0u, col0 + r, c) : 0.0f;
    }
    for (uint j = 0; j < LIN_GEMV_MAX_N && j < p->n; ++j) {
      const float xv = linear_load(x, p->x_format, j * p->k + c);
      for (uint r = 0; r < LIN_GEMV_ROWS; ++r) acc[r][j] += wv[r] * xv;
    }
  }
}

// Columns of this workgroup that exist (0 for the padding groups of a wrapped grid).
inline uint linear_gemv_rows(const linear_params* p, uint col0) {
  return col0 < p->m ? min((uint)LIN_GEMV_ROWS, p->m - col0) : 0u;
}

__kernel void linear_gemv(
    __global const uchar* x, __global const uchar* w, __global const uchar* scale, __global const uchar* shift,
    __global const uchar* bias, __global uchar* y, const linear_params p) {
  // One row per (column, x row) pair, padded by one so the summing work-items hit distinct banks.
  __local float partial[LIN_GEMV_ROWS * LIN_GEMV_MAX_N][LIN_GEMV_LOCAL + 1];
  const uint col0 = flat_group_id() * LIN_GEMV_ROWS;  // the grid wraps past 65535 groups
  const uint lid = get_local_id(0);
  const uint rows = linear_gemv_rows(&p, col0);
  float acc[LIN_GEMV_ROWS][LIN_GEMV_MAX_N];
  for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
    for (uint j = 0; j < LIN_GEMV_MAX_N; ++j) acc[r][j] = 0.0f;
  }
  linear_gemv_accumulate(acc, x, w, scale, shift, &p, col0, rows, lid);
  for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
    for (uint j = 0; j < LIN_GEMV_MAX_N; ++j) partial[r * LIN_GEMV_MAX_N + j][lid] = acc[r][j];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint r = lid / LIN_GEMV_MAX_N, j = lid % LIN_GEMV_MAX_N;
  if (r < rows && j < p.n) {
    float sum = 0.0f;
    for (uint i = 0; i < LIN_GEMV_LOCAL; ++i) sum += partial[lid][i];
    linear_store(y, j * p.y_row_stride + col0 + r, sum, scale, bias, &p, col0 + r);
  }
}

// int8 × int8: the same walk with int32 accumulators.
inline void linear_gemv_i8_accumulate(int (*acc)[LIN_GEMV_MAX_N], __global const char* x, __global const char* w,
                                      const linear_params* p, uint col0, uint rows, uint lid) {
  const uint step = p->k % 4u == 0u ? 4u : 1u;
  for (uint c = step * lid; c < p->k; c += step * LIN_GEMV_LOCAL) {
    int4 wv[LIN_GEMV_ROWS];
    for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
      const uint i = (col0 + r) * p->k + c;
      wv[r] = r >= rows ? (int4)(0) : (step == 4u ? convert_int4(vload4(i / 4u, w)) : (int4)(w[i], 0, 0, 0));
    }
    for (uint j = 0; j < LIN_GEMV_MAX_N && j < p->n; ++j) {
      const uint i = j * p->k + c;
      const int4 xv = step == 4u ? convert_int4(vload4(i / 4u, x)) : (int4)(x[i], 0, 0, 0);
      for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
        const int4 prod = wv[r] * xv;
        acc[r][j] += prod.s0 + prod.s1 + prod.s2 + prod.s3;
      }
    }
  }
}

__kernel void linear_gemv_i8(
    __global const char* x, __global const char* w, __global const uchar* scale, __global const uchar* shift,
    __global const uchar* bias, __global uchar* y, const linear_params p) {
  __local int partial[LIN_GEMV_ROWS * LIN_GEMV_MAX_N][LIN_GEMV_LOCAL + 1];
  (void)shift;
  const uint col0 = flat_group_id() * LIN_GEMV_ROWS;
  const uint lid = get_local_id(0);
  const uint rows = linear_gemv_rows(&p, col0);
  int acc[LIN_GEMV_ROWS][LIN_GEMV_MAX_N];
  for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
    for (uint j = 0; j < LIN_GEMV_MAX_N; ++j) acc[r][j] = 0;
  }
  linear_gemv_i8_accumulate(acc, x, w, &p, col0, rows, lid);
  for (uint r = 0; r < LIN_GEMV_ROWS; ++r) {
    for (uint j = 0; j < LIN_GEMV_MAX_N; ++j) partial[r * LIN_GEMV_MAX_N + j][lid] = acc[r][j];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint r = lid / LIN_GEMV_MAX_N, j = lid % LIN_GEMV_MAX_N;
  if (r < rows && j < p.n) {
    int sum = 0;
    for (uint i = 0; i < LIN_GEMV_LOCAL; ++i) sum += partial[lid][i];
    linear_store_int(y, j * p.y_row_stride + col0 + r, sum, scale, bias, &p, col0 + r);
  }
}

// ---- GEMM: LIN_GEMM_TILE × LIN_GEMM_TILE output tiles, k staged through local memory -------
// Tiles are stored k-major ([kk][row], padded by one against bank conflicts) so the inner
// product reads a row of each; work-item (tx, ty) owns rows ty + 8i and columns tx + 8j, so
// neighbouring work-items read neighbouring local words and write neighbouring outputs.

// Staging writes tile[kk][r] = operand (row0 + r, k0 + kk), zero outside the matrix. Where
// rows are word-aligned each work-item stages 4 consecutive k at a time with one vector load.
inline void linear_put4(__local float (*tile)[LIN_GEMM_TILE + 1], uint kk, uint r, float4 v) {
  tile[kk][r] = v.s0;
  tile[kk + 1][r] = v.s1;
  tile[kk + 2][r] = v.s2;
  tile[kk + 3][r] = v.s3;
}

inline void linear_stage_x(__local float (*tile)[LIN_GEMM_TILE + 1], __global const uchar* x, const linear_params* p,
                           uint x_base, uint row0, uint k0, uint tid) {
  if (p->k % 4u == 0u) {
    for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK / 4; e += LIN_GEMM_LOCAL) {
      const uint r = e / (LIN_GEMM_TK / 4), kk = 4u * (e % (LIN_GEMM_TK / 4));
      const uint row = row0 + r, c = k0 + kk;
      const bool inside = row < p->n && c < p->k;  // k % 4 == 0: c < k covers c + 3
      linear_put4(tile, kk, r, inside ? linear_load4(x, p->x_format, x_base + row * p->k + c) : (float4)(0.0f));
    }
    return;
  }
  for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK; e += LIN_GEMM_LOCAL) {
    const uint r = e / LIN_GEMM_TK, kk = e % LIN_GEMM_TK;
    const uint row = row0 + r, c = k0 + kk;
    tile[kk][r] = row < p->n && c < p->k ? linear_load(x, p->x_format, x_base + row * p->k + c) : 0.0f;
  }
}

inline void linear_stage_w(__local float (*tile)[LIN_GEMM_TILE + 1], __global const uchar* w, __global const uchar* scale,
                           __global const uchar* shift, const linear_params* p, uint w_base, uint col0, uint k0, uint tid) {
  // Float B stored [k, m] is contiguous along m: walk the tile along m so reads stay coalesced.
  const bool m_contiguous = linear_float_weights(p) && p->w_col_stride != 1u;
  if (!m_contiguous && linear_word_aligned(p)) {
    for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK / 4; e += LIN_GEMM_LOCAL) {
      const uint r = e / (LIN_GEMM_TK / 4), kk = 4u * (e % (LIN_GEMM_TK / 4));
      const uint row = col0 + r, c = k0 + kk;
      const bool inside = row < p->m && c < p->k;
      linear_put4(tile, kk, r, inside ? linear_load_weight4(w, scale, shift, p, w_base, row, c) : (float4)(0.0f));
    }
    return;
  }
  for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK; e += LIN_GEMM_LOCAL) {
    const uint r = m_contiguous ? e % LIN_GEMM_TILE : e / LIN_GEMM_TK;
    const uint kk = m_contiguous ? e / LIN_GEMM_TILE : e % LIN_GEMM_TK;
    const uint row = col0 + r, c = k0 + kk;
    tile[kk][r] = row < p->m && c < p->k ? linear_load_weight(w, scale, shift, p, w_base, row, c) : 0.0f;
  }
}

__kernel void linear_gemm(
    __global const uchar* x, __global const uchar* w, __global const uchar* scale, __global const uchar* shift,
    __global const uchar* bias, __global uchar* y, const linear_params p) {
  __local float xt[LIN_GEMM_TK][LIN_GEMM_TILE + 1];
  __local float wt[LIN_GEMM_TK][LIN_GEMM_TILE + 1];
  const uint tid = get_local_id(0);
  const uint tx = tid % LIN_GEMM_SIDE, ty = tid / LIN_GEMM_SIDE;
  const uint col0 = get_group_id(0) * LIN_GEMM_TILE, row0 = get_group_id(1) * LIN_GEMM_TILE;
  const uint batch = get_group_id(2);
  float acc[4][4];
  for (uint i = 0; i < 4; ++i) {
    for (uint j = 0; j < 4; ++j) acc[i][j] = 0.0f;
  }
  for (uint k0 = 0; k0 < p.k; k0 += LIN_GEMM_TK) {
    linear_stage_x(xt, x, &p, batch * p.x_batch_stride, row0, k0, tid);
    linear_stage_w(wt, w, scale, shift, &p, batch * p.w_batch_stride, col0, k0, tid);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint kk = 0; kk < LIN_GEMM_TK; ++kk) {
      float a[4], b[4];
      for (uint i = 0; i < 4; ++i) {
        a[i] = xt[kk][ty + LIN_GEMM_SIDE * i];
        b[i] = wt[kk][tx + LIN_GEMM_SIDE * i];
      }
      for (uint i = 0; i < 4; ++i) {
        for (uint j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (uint i = 0; i < 4; ++i) {
    const uint row = row0 + ty + LIN_GEMM_SIDE * i;
    for (uint j = 0; j < 4; ++j) {
      const uint col = col0 + tx + LIN_GEMM_SIDE * j;
      if (row < p.n && col < p.m) {
        linear_store(y, batch * p.y_batch_stride + row * p.y_row_stride + col, acc[i][j], scale, bias, &p, col);
      }
    }
  }
}

// int8 × int8 tiles, int32 accumulation (no batches: W8A8 linear layers only).
inline void linear_stage_i8(__local int (*tile)[LIN_GEMM_TILE + 1], __global const char* src, uint rows, uint k, uint row0,
                            uint k0, uint tid) {
  const uint step = k % 4u == 0u ? 4u : 1u;  // 4 codes per load where rows are word-aligned
  for (uint e = tid; e < LIN_GEMM_TILE * LIN_GEMM_TK / step; e += LIN_GEMM_LOCAL) {
    const uint r = e / (LIN_GEMM_TK / step), kk = step * (e % (LIN_GEMM_TK / step));
    const uint row = row0 + r, c = k0 + kk;
    const bool inside = row < rows && c < k;
    if (step == 4u) {
      const int4 v = inside ? convert_int4(vload4((row * k + c) / 4u, src)) : (int4)(0);
      tile[kk][r] = v.s0;
      tile[kk + 1][r] = v.s1;
      tile[kk + 2][r] = v.s2;
      tile[kk + 3][r] = v.s3;
    } else {
      tile[kk][r] = inside ? (int)src[row * k + c] : 0;
    }
  }
}

__kernel void linear_gemm_i8(
    __global const char* x, __global const char* w, __global const uchar* scale, __global const uchar* shift,
    __global const uchar* bias, __global uchar* y, const linear_params p) {
  __local int xt[LIN_GEMM_TK][LIN_GEMM_TILE + 1];
  __local int wt[LIN_GEMM_TK][LIN_GEMM_TILE + 1];
  (void)shift;
  const uint tid = get_local_id(0);
  const uint tx = tid % LIN_GEMM_SIDE, ty = tid / LIN_GEMM_SIDE;
  const uint col0 = get_group_id(0) * LIN_GEMM_TILE, row0 = get_group_id(1) * LIN_GEMM_TILE;
  int acc[4][4];
  for (uint i = 0; i < 4; ++i) {
    for (uint j = 0; j < 4; ++j) acc[i][j] = 0;
  }
  for (uint k0 = 0; k0 < p.k; k0 += LIN_GEMM_TK) {
    linear_stage_i8(xt, x, p.n, p.k, row0, k0, tid);
    linear_stage_i8(wt, w, p.m, p.k, col0, k0, tid);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint kk = 0; kk < LIN_GEMM_TK; ++kk) {
      int a[4], b[4];
      for (uint i = 0; i < 4; ++i) {
        a[i] = xt[kk][ty + LIN_GEMM_SIDE * i];
        b[i] = wt[kk][tx + LIN_GEMM_SIDE * i];
      }
      for (uint i = 0; i < 4; ++i) {
        for (uint j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (uint i = 0; i < 4; ++i) {
    const uint row = row0 + ty + LIN_GEMM_SIDE * i;
    for (uint j = 0; j < 4; ++j) {
      const uint col = col0 + tx + LIN_GEMM_SIDE * j;
      if (row < p.n && col < p.m) linear_store_int(y, row * p.y_row_stride + col, acc[i][j], scale, bias, &p, col);
    }
  }
}
