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
#include "linear_common.glsl"

// Workgroup shapes; the launch (runtime/ops/linear_common.cpp) uses the same sizes.
const uint LIN_GEMV_LOCAL = 64u;  // invocations per workgroup
const uint LIN_GEMV_ROWS = 4u;    // output columns (rows of W) per workgroup
const uint LIN_GEMV_MAX_N = 8u;   // rows of x served by GEMV
const uint LIN_GEMM_TILE = 32u;   // output tile: 32 rows of x × 32 rows of W
const uint LIN_GEMM_TK = 32u;     // k-slice staged in shared memory per step (a multiple of 4)
const uint LIN_GEMM_LOCAL = 64u;  // 8 × 8 invocations, each computing 4 × 4 outputs strided by 8
const uint LIN_GEMM_SIDE = 8u;

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
    linear_store(j * p.y_row_stride + col0 + r, sum, col0 + r);
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
      if (row < p.n && col < p.m) linear_store(batch * p.y_batch_stride + row * p.y_row_stride + col, acc[i][j], col);
    }
  }
}
#endif
