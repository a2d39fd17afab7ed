// Specialised linear kernels, one per weight format, for CPU-like OpenCL devices (pocl): a
// work-item owns a tile of ROWS consecutive rows of W × NX consecutive rows of x (n ≤ 8 is one
// tile of x: the GEMV; see lin_tile_of for the order of the tiles) and walks the whole of k
// with 16-wide vector loads: one load of weights serves NX rows of x, one load of x ROWS rows
// of W, every weight is read exactly once per tile of x and nothing needs a reduction across
// work-items. The ROWS · NX float16 accumulators stay in vector registers. The host picks the
// tile from n (runtime/ops/linear_kernels.cpp, rows_per_item = ROWS, x_rows_per_item = NX): n = 1 → 8 × 1,
// 2 → 4 × 2, 3..4 → 2 × 4, 5..8 → 1 × 8, n > 8 (GEMM) → 4 × 4 (linear_i8: 6 × 4).
// Parameters are linear_params (cl/common_linear.cl).

// The loops over a tile's rows are unrolled, so that acc[r][j] are registers: pocl's LLVM left
// the 8-row loop rolled, with the accumulators on the stack.
#define LIN_UNROLL _Pragma("unroll")

#define LIN_BLOCK 32     // blocked sub-byte layout: codes per block row (runtime/ops/linear_layout.h)
#define LIN_ROW_GROUP 8  // rows per row group

// 16 consecutive elements of an f32/f16/bf16 buffer from element i, i a multiple of 16.
inline float16 lin_float16(__global const uchar* buf, uint fmt, uint i) {
  if (fmt == LIN_FMT_F32) return vload16(i / 16u, (__global const float*)buf);
  if (fmt == LIN_FMT_F16) return vload_half16(i / 16u, (__global const half*)buf);
  return as_float16(convert_uint16(vload16(i / 16u, (__global const ushort*)buf)) << 16);  // bfloat16
}

// A group's scale or shift (float32, float16 or bfloat16). Not linear_load, whose float8 decoding
// keeps LLVM from inlining it: pocl spent a fifth of the int4 GEMV in that call.
inline float lin_group_value(__global const uchar* buf, uint fmt, uint i) {
  if (fmt == LIN_FMT_F32) return ((__global const float*)buf)[i];
  if (fmt == LIN_FMT_F16) return vload_half(i, (__global const half*)buf);
  return load_bf16((__global const ushort*)buf, i);
}

inline float lin_sum16(float16 v) {
  const float8 a = v.lo + v.hi;
  const float4 b = a.lo + a.hi;
  const float2 c = b.lo + b.hi;
  return c.x + c.y;
}

inline int lin_isum16(int16 v) {
  const int8 a = v.lo + v.hi;
  const int4 b = a.lo + a.hi;
  const int2 c = b.lo + b.hi;
  return c.x + c.y;
}

// The tile of this work-item: rows row0 .. row0 + ROWS - 1 of W, rows j0 .. j0 + NX - 1 of x.
typedef struct {
  uint row0, j0, nx;  // nx: rows of x that exist in this tile
} lin_tile;

// GEMV: dimensions 0 and 1 (wrapped) walk the rows of W. GEMM (x_tiles > 1): the tiles of x
// vary fastest, so the work-items a thread runs in turn share their rows of W (cache-resident)
// and all of x streams past them: W is read from memory once.
inline lin_tile lin_tile_of(const linear_params* p, const uint ROWS, const uint NX) {
  const uint x_tiles = (p->n + NX - 1) / NX;
  const uint item = flat_id();
  lin_tile t;
  t.row0 = (item / x_tiles) * ROWS;
  t.j0 = (item % x_tiles) * NX;
  t.nx = min(NX, p->n - min(p->n, t.j0));
  return t;
}

// Writes a finished dot product (row scale, bias, rounding: linear_store).
inline void lin_store(__global uchar* y, float v, __global const uchar* scale, __global const uchar* bias,
                      const linear_params* p, uint row, uint j) {
  if (row < p->m) linear_store(y, j * p->y_row_stride + row, v, scale, bias, p, row);
}

// The tile's float16 accumulators acc[ROWS][NX], zeroed; and their sums stored.
#define LIN_ZERO_TILE(acc, ROWS, NX, zero)                                                                         \
  LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                     \
    LIN_UNROLL for (uint j = 0; j < NX; ++j) acc[r][j] = zero;                                                     \
  }
#define LIN_STORE_TILE(acc, ROWS, NX)                                                                              \
  LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                     \
    LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                     \
      if (j < t.nx) lin_store(y, lin_sum16(acc[r][j]), scale, bias, &p, t.row0 + r, t.j0 + j);                     \
    }                                                                                                              \
  }

// Each kernel body below is a macro of ROWS and NX, instantiated for the tiles above, so that
// the unrolled loops index registers: the GEMV tiles (n ≤ 8), and with them the 4 × 4 GEMM tile.
#define LIN_DISPATCH_GEMV_TILES(body)                                                                              \
  if (p.rows_per_item == 8u) {                                                                                     \
    body(8u, 1u)                                                                                                   \
  } else if (p.rows_per_item == 4u) {                                                                              \
    body(4u, 2u)                                                                                                   \
  } else if (p.rows_per_item == 2u) {                                                                              \
    body(2u, 4u)                                                                                                   \
  } else {                                                                                                         \
    body(1u, 8u)                                                                                                   \
  }
#define LIN_DISPATCH_TILES(body)                                                                                   \
  if (p.rows_per_item == 4u && p.x_rows_per_item == 4u) {                                                          \
    body(4u, 4u)                                                                                                   \
  } else {                                                                                                         \
    LIN_DISPATCH_GEMV_TILES(body)                                                                                  \
  }

// ---- int4 codes, blocked layout -------------------------------------------------------------
// A row's block is 16 bytes: low nibbles are codes c..c+15, high nibbles c+16..c+31. The
// group's scale and shift (blocked order, runtime/ops/linear_layout.h) are loaded once per group.

// Byte offset of row `row`'s block 0: a row group's blocks are 8 · 16 bytes apart.
inline uint lin_q4_row_offset(uint row, uint blocks) {
  return (row / LIN_ROW_GROUP) * blocks * (LIN_ROW_GROUP * 16) + (row % LIN_ROW_GROUP) * 16;
}
// Index of row `row`'s scale (shift) of group g in the blocked order.
inline uint lin_q4_group_index(uint row, uint groups, uint g) {
  return ((row / LIN_ROW_GROUP) * groups + g) * LIN_ROW_GROUP + row % LIN_ROW_GROUP;
}
// W' = s·q − sh for 16 codes.
inline float16 lin_q4_dequant(uchar16 codes, float s, float sh) { return fma(convert_float16(codes), (float16)(s), (float16)(-sh)); }

// The shift is folded out of the sums, as in shaders/linear_gemv.comp: per group,
//   Σ (s·q − sh)·x = s·Σ q·x − sh·Σ x,
// with Σ x shared by every row of the tile, so 16 codes cost a mask or shift, a conversion and
// one FMA per row instead of two. A NaN or ±inf in x, a scale or a shift always leaves a folded
// sum NaN or ±inf, so the hot loop checks nothing: a row whose sum comes out non-finite is
// recomputed with W' = s·q − sh per element (lin_q4_exact_row), which spreads NaN and ±inf
// element by element as torch does (and which also serves a folded sum that overflowed).
inline bool lin_finite(float v) { return (as_uint(v) & 0x7F800000u) != 0x7F800000u; }

// Row `row` of W against row xj of x, element by element: for a folded sum that came out
// non-finite.
inline float lin_q4_exact_row(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                              __global const uchar* shift, const linear_params* p, uint row, uint xj) {
  const uint blocks = p->k / LIN_BLOCK, groups = p->k / p->group_size, per_group = p->group_size / LIN_BLOCK;
  __global const uchar* w0 = w + lin_q4_row_offset(row, blocks);
  float16 acc = (float16)(0.0f);
  for (uint g = 0; g < groups; ++g) {
    const uint e = lin_q4_group_index(row, groups, g);
    const float s = lin_group_value(scale, p->scale_format, e), sh = lin_group_value(shift, p->scale_format, e);
    for (uint b = g * per_group; b < (g + 1u) * per_group; ++b) {
      const uchar16 q = vload16(0, w0 + b * (LIN_ROW_GROUP * 16));
      acc = fma(lin_q4_dequant(q & (uchar16)(15), s, sh), lin_float16(x, p->x_format, xj * p->k + b * LIN_BLOCK), acc);
      acc = fma(lin_q4_dequant(q >> (uchar16)(4), s, sh), lin_float16(x, p->x_format, xj * p->k + b * LIN_BLOCK + 16u), acc);
    }
  }
  return lin_sum16(acc);
}

// Block b's 32 elements of the tile's rows of x: xl[j] the low nibbles' 16, xh[j] the high ones'.
#define LIN_Q4_LOAD_X(b, xl, xh, NX)                                                                               \
  float16 xl[NX], xh[NX];                                                                                          \
  LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                       \
    const uint xj = min(j, t.nx - 1);                                                                              \
    xl[j] = lin_float16(x, p.x_format, (t.j0 + xj) * p.k + (b) * LIN_BLOCK);                                       \
    xh[j] = lin_float16(x, p.x_format, (t.j0 + xj) * p.k + (b) * LIN_BLOCK + 16u);                                 \
  }

// One block b of the tile's rows into the group sums qx[r][j] (Σ q·x) and sx[j] (Σ x).
#define LIN_Q4_BLOCK(b, qx, sx, ROWS, NX)                                                                          \
  {                                                                                                                \
    LIN_Q4_LOAD_X(b, xl, xh, NX)                                                                                   \
    LIN_UNROLL for (uint j = 0; j < NX; ++j) sx[j] += xl[j] + xh[j];                                               \
    __global const uchar* wb = w0 + (b) * (LIN_ROW_GROUP * 16);                                                    \
    LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                   \
      const uchar16 q = vload16(0, wb + r * 16u);                                                                  \
      const float16 ql = convert_float16(q & (uchar16)(15)), qh = convert_float16(q >> (uchar16)(4));              \
      LIN_UNROLL for (uint j = 0; j < NX; ++j) qx[r][j] = fma(ql, xl[j], fma(qh, xh[j], qx[r][j]));                \
    }                                                                                                              \
  }
// Group g's scales and shifts of the tile's rows (blocked order; padding rows hold zeros).
#define LIN_Q4_GROUP_VALUES(g, s, sh, ROWS)                                                                        \
  LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                     \
    const uint q = lin_q4_group_index(t.row0 + r, groups, (g));                                                    \
    s[r] = lin_group_value(scale, p.scale_format, q);                                                              \
    sh[r] = lin_group_value(shift, p.scale_format, q);                                                             \
  }
// A finished group g: acc += s·Σ q·x − sh·Σ x, lane by lane.
#define LIN_Q4_FOLD(g, qx, sx, ROWS, NX)                                                                           \
  {                                                                                                                \
    float s[ROWS], sh[ROWS];                                                                                       \
    LIN_Q4_GROUP_VALUES(g, s, sh, ROWS)                                                                            \
    LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                   \
      LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                   \
        acc[r][j] = fma((float16)(s[r]), qx[r][j], fma((float16)(-sh[r]), sx[j], acc[r][j]));                      \
      }                                                                                                            \
    }                                                                                                              \
  }
#define LIN_Q4_GROUP_START(qx, sx, ROWS, NX)                                                                       \
  float16 qx[ROWS][NX], sx[NX];                                                                                    \
  LIN_ZERO_TILE(qx, ROWS, NX, (float16)(0.0f))                                                                     \
  LIN_UNROLL for (uint j = 0; j < NX; ++j) sx[j] = (float16)(0.0f);

// The GEMM tile (4 × 4) forms W' = s·q − sh in registers instead: the folded sums would need
// 16 more accumulators than the 32 vector registers hold (pocl, n=512: 1.03 s folded, 0.78 s
// unfolded over two streams of W, 0.64 s over one: W is cache-resident there); NaN and ±inf meet the weights
// torch meets without a second pass.
#define LIN_Q4_DEQUANT_BLOCK(b, s, sh, ROWS, NX)                                                                   \
  {                                                                                                                \
    LIN_Q4_LOAD_X(b, xl, xh, NX)                                                                                   \
    __global const uchar* wb = w0 + (b) * (LIN_ROW_GROUP * 16);                                                    \
    LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                   \
      const uchar16 q = vload16(0, wb + r * 16u);                                                                  \
      const float16 wl = lin_q4_dequant(q & (uchar16)(15), s[r], sh[r]);                                          \
      const float16 wh = lin_q4_dequant(q >> (uchar16)(4), s[r], sh[r]);                                           \
      LIN_UNROLL for (uint j = 0; j < NX; ++j) acc[r][j] = fma(wl, xl[j], fma(wh, xh[j], acc[r][j]));              \
    }                                                                                                              \
  }
#define LIN_Q4_GEMM_TILE(ROWS, NX)                                                                                 \
  {                                                                                                                \
    const lin_tile t = lin_tile_of(&p, ROWS, NX);                                                                  \
    if (t.row0 < p.m && t.nx > 0) {                                                                                \
      const uint blocks = p.k / LIN_BLOCK, groups = p.k / p.group_size, per_group = p.group_size / LIN_BLOCK;      \
      __global const uchar* w0 = w + lin_q4_row_offset(t.row0, blocks);                                            \
      float16 acc[ROWS][NX];                                                                                       \
      LIN_ZERO_TILE(acc, ROWS, NX, (float16)(0.0f))                                                                \
      for (uint g = 0; g < groups; ++g) {                                                                          \
        float s[ROWS], sh[ROWS];                                                                                   \
        LIN_Q4_GROUP_VALUES(g, s, sh, ROWS)                                                                        \
        for (uint i = 0; i < per_group; ++i) LIN_Q4_DEQUANT_BLOCK(g * per_group + i, s, sh, ROWS, NX)              \
      }                                                                                                            \
      LIN_STORE_TILE(acc, ROWS, NX)                                                                                \
    }                                                                                                              \
  }

// The tile walks the two halves of k side by side (groups g and g + ceil(groups / 2)): two
// streams of W per work-item, so that a CPU's prefetchers keep twice the loads in flight when W
// comes from memory. One stream left the GEMV latency-bound there (pocl, m=4096 k=14336, W
// rotating past the last-level cache: 4.5–5.6 ms, two streams 3.3 ms, the same 1.9 ms when W
// is cache-resident); four streams gained nothing more.
#define LIN_Q4_TILE_WITH(ROWS, NX, STORE)                                                                          \
  {                                                                                                                \
    const lin_tile t = lin_tile_of(&p, ROWS, NX);                                                                  \
    if (t.row0 < p.m && t.nx > 0) {                                                                                \
      const uint blocks = p.k / LIN_BLOCK, groups = p.k / p.group_size, per_group = p.group_size / LIN_BLOCK;      \
      const uint first_half = groups - groups / 2;                                                                 \
      __global const uchar* w0 = w + lin_q4_row_offset(t.row0, blocks);                                            \
      float16 acc[ROWS][NX];                                                                                       \
      LIN_ZERO_TILE(acc, ROWS, NX, (float16)(0.0f))                                                                \
      for (uint g = 0; g < first_half; ++g) {                                                                      \
        const uint g2 = g + first_half;                                                                            \
        LIN_Q4_GROUP_START(qx, sx, ROWS, NX)                                                                       \
        if (g2 < groups) {                                                                                         \
          LIN_Q4_GROUP_START(qx2, sx2, ROWS, NX)                                                                   \
          for (uint i = 0; i < per_group; ++i) {                                                                   \
            LIN_Q4_BLOCK(g * per_group + i, qx, sx, ROWS, NX)                                                      \
            LIN_Q4_BLOCK(g2 * per_group + i, qx2, sx2, ROWS, NX)                                                   \
          }                                                                                                        \
          LIN_Q4_FOLD(g2, qx2, sx2, ROWS, NX)                                                                      \
        } else {                                                                                                   \
          for (uint i = 0; i < per_group; ++i) LIN_Q4_BLOCK(g * per_group + i, qx, sx, ROWS, NX)                   \
        }                                                                                                          \
        LIN_Q4_FOLD(g, qx, sx, ROWS, NX)                                                                           \
      }                                                                                                            \
      float z[ROWS][NX];                                                                                           \
      LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                 \
        LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                 \
          z[r][j] = lin_sum16(acc[r][j]);                                                                          \
          if (!lin_finite(z[r][j]) && j < t.nx && t.row0 + r < p.m) {                                              \
            z[r][j] = lin_q4_exact_row(x, w, scale, shift, &p, t.row0 + r, t.j0 + j);                              \
          }                                                                                                        \
        }                                                                                                          \
      }                                                                                                            \
      STORE(z, ROWS, NX)                                                                                           \
    }                                                                                                              \
  }

// The tile's sums z[r][j] as rows of y.
#define LIN_Q4_STORE_ROWS(z, ROWS, NX)                                                                             \
  LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                     \
    LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                     \
      if (j < t.nx) lin_store(y, z[r][j], scale, bias, &p, t.row0 + r, t.j0 + j);                                  \
    }                                                                                                              \
  }
// linear_q4_swiglu: tile rows r and r + 1 (r even; row0 is a multiple of ROWS) are the gate and
// up rows of one pair, whose silu(gate) · up is column (row0 + r) / 2 of y (y_row_stride m / 2).
#define LIN_Q4_STORE_SWIGLU(z, ROWS, NX)                                                                           \
  LIN_UNROLL for (uint r = 0; r < ROWS; r += 2u) {                                                                 \
    LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                     \
      const uint row = t.row0 + r;                                                                                 \
      if (j < t.nx && row < p.m) {                                                                                 \
        const float gate = linear_finish(z[r][j], scale, bias, &p, row);                                           \
        const float up = linear_finish(z[r + 1u][j], scale, bias, &p, row + 1u);                                   \
        store_float(y, (t.j0 + j) * p.y_row_stride + row / 2u, p.y_format, silu(gate) * up);                       \
      }                                                                                                            \
    }                                                                                                              \
  }
#define LIN_Q4_TILE(ROWS, NX) LIN_Q4_TILE_WITH(ROWS, NX, LIN_Q4_STORE_ROWS)
#define LIN_Q4_SWIGLU_TILE(ROWS, NX) LIN_Q4_TILE_WITH(ROWS, NX, LIN_Q4_STORE_SWIGLU)

__kernel void linear_q4(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                        __global const uchar* shift, __global const uchar* bias, __global uchar* y, const linear_params p) {
  if (p.rows_per_item == 4u && p.x_rows_per_item == 4u) {
    LIN_Q4_GEMM_TILE(4u, 4u)
  } else {
    LIN_DISPATCH_GEMV_TILES(LIN_Q4_TILE)
  }
}

// A gated MLP's gate and up projections, their rows interleaved (runtime/ops/linear_swiglu.cpp),
// with the swiglu after them: one launch instead of the GEMV's and the binary op's. The decode
// tile only (n = 1: 8 rows × 1 row of x): every other tile here would add to pocl's compile
// time for shapes a decoder rarely runs (n = 2..8 keep the two launches).
__kernel void linear_q4_swiglu(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                               __global const uchar* shift, __global const uchar* bias, __global uchar* y,
                               const linear_params p) {
  LIN_Q4_SWIGLU_TILE(8u, 1u)
}

// ---- 16-element rows: int8 codes (per-row scale applied by linear_store) and float weights ----
// W [m, k] row-major with k % 16 == 0; one vload16 per row and 16 columns. LOAD_X / LOAD_W load
// 16 elements of x / W as IN, MAC(acc, w, x) accumulates them into ACC vectors and
// STORE(acc, ROWS, NX) writes the tile.
#define LIN_ROWS16_TILE(ROWS, NX, ACC, IN, LOAD_X, LOAD_W, MAC, STORE)                                             \
  {                                                                                                                \
    const lin_tile t = lin_tile_of(&p, ROWS, NX);                                                                  \
    if (t.row0 < p.m && t.nx > 0) {                                                                                \
      ACC acc[ROWS][NX];                                                                                           \
      LIN_ZERO_TILE(acc, ROWS, NX, (ACC)(0))                                                                       \
      uint w_row[ROWS];                                                                                            \
      LIN_UNROLL for (uint r = 0; r < ROWS; ++r) w_row[r] = min(t.row0 + r, p.m - 1) * p.k;                        \
      for (uint c = 0; c < p.k; c += 16u) {                                                                        \
        IN xv[NX];                                                                                                 \
        LIN_UNROLL for (uint j = 0; j < NX; ++j) xv[j] = LOAD_X((t.j0 + min(j, t.nx - 1)) * p.k + c);              \
        LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                               \
          const IN wv = LOAD_W(w_row[r] + c);                                                                      \
          LIN_UNROLL for (uint j = 0; j < NX; ++j) acc[r][j] = MAC(acc[r][j], wv, xv[j]);                          \
        }                                                                                                          \
      }                                                                                                            \
      STORE(acc, ROWS, NX)                                                                                         \
    }                                                                                                              \
  }

#define LIN_FMA(acc, w, x) fma(w, x, acc)
#define LIN_LOAD_X(i) lin_float16(x, p.x_format, (i))
// 16 float8 codes → floats, lane by lane what linear_decode_f8 (cl/common_linear.cl) gives.
inline float16 lin_decode_f8(uchar16 codes, uint fmt) {
  const uint mbits = fmt == LIN_FMT_E5M2 ? 2u : 3u;
  const uint bias = fmt == LIN_FMT_E5M2 ? 15u : (fmt == LIN_FMT_E4M3FNUZ ? 8u : 7u);
  const uint16 b = convert_uint16(codes), magnitude = b & 0x7Fu, e = magnitude >> mbits, mt = b & ((1u << mbits) - 1u);
  const float16 subnormal = convert_float16(mt) * as_float((128u - bias - mbits) << 23);
  const float16 normal = as_float16(((e + (127u - bias)) << 23) | (mt << (23u - mbits)));
  float16 v = as_float16(as_uint16(select(normal, subnormal, e == 0u)) | ((b & 0x80u) << 24));
  if (fmt == LIN_FMT_E5M2) {
    v = select(v, select(as_float16(((b & 0x80u) << 24) | 0x7F800000u), (float16)(NAN), mt != 0u), e == 31u);
  } else {
    v = select(v, (float16)(NAN), fmt == LIN_FMT_E4M3FNUZ ? b == 0x80u : magnitude == 0x7Fu);
  }
  return v;
}

#define LIN_LOAD_I8(i) convert_float16(vload16((i) / 16u, (__global const char*)w))
#define LIN_LOAD_F8(i) lin_decode_f8(vload16((i) / 16u, w), p.w_format)
#define LIN_LOAD_FLOAT(i) lin_float16(w, p.w_format, (i))
#define LIN_Q8_TILE(ROWS, NX) LIN_ROWS16_TILE(ROWS, NX, float16, float16, LIN_LOAD_X, LIN_LOAD_I8, LIN_FMA, LIN_STORE_TILE)
#define LIN_F8_TILE(ROWS, NX) LIN_ROWS16_TILE(ROWS, NX, float16, float16, LIN_LOAD_X, LIN_LOAD_F8, LIN_FMA, LIN_STORE_TILE)
#define LIN_F_TILE(ROWS, NX)                                                                                       \
  LIN_ROWS16_TILE(ROWS, NX, float16, float16, LIN_LOAD_X, LIN_LOAD_FLOAT, LIN_FMA, LIN_STORE_TILE)

__kernel void linear_q8(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                        __global const uchar* shift, __global const uchar* bias, __global uchar* y, const linear_params p) {
  LIN_DISPATCH_TILES(LIN_Q8_TILE)
}

// float8 codes (e4m3fn, e4m3fnuz, e5m2), per-row scale applied by linear_store; the shader of
// the same name in shaders/linear_gemv.comp is its mirror.
__kernel void linear_f8(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                        __global const uchar* shift, __global const uchar* bias, __global uchar* y, const linear_params p) {
  LIN_DISPATCH_TILES(LIN_F8_TILE)
}

__kernel void linear_f(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                       __global const uchar* shift, __global const uchar* bias, __global uchar* y, const linear_params p) {
  LIN_DISPATCH_TILES(LIN_F_TILE)
}

// ---- int8 codes × int8 activations, int32 accumulation ---------------------------------------
// GEMV tiles: products of two int8 codes, |q·q| ≤ 2^14, and sums of up to 2^10 of them are exact
// in float32: each lane accumulates in float for 64 steps of 16 columns (64 products per lane),
// then moves the exact sum into an int32 accumulator (on pocl faster than int32 multiplies
// where each load of W serves one row of x).
#define LIN_I8_FLUSH 64u

// Stores the tile's int32 sums (input scale, row scale, bias, rounding: linear_store_int).
#define LIN_STORE_INT_TILE(iacc, ROWS, NX)                                                                         \
  LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                                     \
    LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                                     \
      const uint row = t.row0 + r;                                                                                 \
      if (j < t.nx && row < p.m) {                                                                                 \
        linear_store_int(y, (t.j0 + j) * p.y_row_stride + row, lin_isum16(iacc[r][j]), scale, bias, &p, row);      \
      }                                                                                                            \
    }                                                                                                              \
  }

#define LIN_I8_GEMV_TILE(ROWS, NX)                                                                                 \
  {                                                                                                                \
    const lin_tile t = lin_tile_of(&p, ROWS, NX);                                                                  \
    if (t.row0 < p.m && t.nx > 0) {                                                                                \
      int16 iacc[ROWS][NX];                                                                                        \
      float16 acc[ROWS][NX];                                                                                       \
      LIN_ZERO_TILE(iacc, ROWS, NX, (int16)(0))                                                                    \
      LIN_ZERO_TILE(acc, ROWS, NX, (float16)(0.0f))                                                                \
      uint w_row[ROWS];                                                                                            \
      LIN_UNROLL for (uint r = 0; r < ROWS; ++r) w_row[r] = min(t.row0 + r, p.m - 1) * p.k;                        \
      for (uint c0 = 0; c0 < p.k; c0 += 16u * LIN_I8_FLUSH) {                                                      \
        for (uint c = c0; c < min(p.k, c0 + 16u * LIN_I8_FLUSH); c += 16u) {                                       \
          float16 xv[NX];                                                                                          \
          LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                               \
            xv[j] = convert_float16(vload16(((t.j0 + min(j, t.nx - 1)) * p.k + c) / 16u, (__global const char*)x)); \
          }                                                                                                        \
          LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                             \
            const float16 wv = convert_float16(vload16((w_row[r] + c) / 16u, (__global const char*)w));            \
            LIN_UNROLL for (uint j = 0; j < NX; ++j) acc[r][j] = fma(wv, xv[j], acc[r][j]);                        \
          }                                                                                                        \
        }                                                                                                          \
        LIN_UNROLL for (uint r = 0; r < ROWS; ++r) {                                                               \
          LIN_UNROLL for (uint j = 0; j < NX; ++j) {                                                               \
            iacc[r][j] += convert_int16(acc[r][j]);                                                                \
            acc[r][j] = (float16)(0.0f);                                                                           \
          }                                                                                                        \
        }                                                                                                          \
      }                                                                                                            \
      LIN_STORE_INT_TILE(iacc, ROWS, NX)                                                                           \
    }                                                                                                              \
  }

// The GEMM tile (6 × 4, runtime/ops/linear_kernels.cpp): codes widened to int16 lanes and
// multiplied there — exact, |q·q| ≤ 2^14 — each product widened once into int32 accumulators.
// Nothing is converted to float, 16-lane 16-bit multiplies are the cheapest the CPU has (pocl:
// 1.6× the float path and 1.3× int32 multiplies on n=512), and the registers left hold 24
// accumulators, so each load serves 4 or 6 products.
#define LIN_IMAC(acc, w, x) ((acc) + convert_int16((w) * (x)))
#define LIN_LOAD_X_I8(i) convert_short16(vload16((i) / 16u, (__global const char*)x))
#define LIN_LOAD_W_I8(i) convert_short16(vload16((i) / 16u, (__global const char*)w))
#define LIN_I8_GEMM_TILE(ROWS, NX)                                                                                 \
  LIN_ROWS16_TILE(ROWS, NX, int16, short16, LIN_LOAD_X_I8, LIN_LOAD_W_I8, LIN_IMAC, LIN_STORE_INT_TILE)

__kernel void linear_i8(__global const uchar* x, __global const uchar* w, __global const uchar* scale,
                        __global const uchar* shift, __global const uchar* bias, __global uchar* y, const linear_params p) {
  if (p.rows_per_item == 6u) {
    LIN_I8_GEMM_TILE(6u, 4u)
  } else {  // GEMM takes the 6 × 4 tile on OpenCL, so the float-path 4 × 4 tile is not compiled
    LIN_DISPATCH_GEMV_TILES(LIN_I8_GEMV_TILE)
  }
}

// ---- the add_rmsnorm epilogue (fused_linear, runtime/ops/linear_fused.cpp) -------------------
// For CPU devices, the decode tile (n = 1, as linear_q4_swiglu), float32 x and y: y is the
// delta of a residual add; every work-item counts itself done on `counter` once its rows of y
// are stored, and the last one replaces y by h + y and writes rmsnorm(h + y) · weight to
// `normed` alone, as shaders/linear_gemv.comp does: no launch of add_rmsnorm_rows and no barrier. The atomic increment orders each work-item's
// stores before its count; on a CPU device the counting work-item then sees every row.

// Σ v² over row `base` of h + y in the order add_rmsnorm_rows sums it (cl/norm.cl: 128
// work-items striding the row, then workgroup_reduce's tree) by one work-item: each lane's sum
// in the order the tree meets them (bit-reversed lanes), the pending subtrees kept by size.
// The fused op gives the bits of the linear and add_rmsnorm ops one after the other.
inline uint lin_reverse_bits7(uint j) {
  uint r = 0;
  for (uint b = 0; b < 7u; ++b) r |= ((j >> b) & 1u) << (6u - b);
  return r;
}

inline float lin_tree_sum_of_squares(__global const float* h, __global const float* y, uint base, uint m) {
  const uint lanes = 128u;  // the norm kernels' workgroup (runtime/ops/nn_norm.cpp)
  float pending[8];
  for (uint j = 0; j < lanes; ++j) {
    float sum = 0.0f;
    for (uint i = lin_reverse_bits7(j); i < m; i += lanes) {
      const float v = h[base + i] + y[base + i];
      sum += v * v;
    }
    uint level = 0;
    for (uint c = j; (c & 1u) == 1u; c >>= 1) sum = pending[level++] + sum;
    pending[level] = sum;
  }
  return pending[7];
}

inline void lin_add_rmsnorm_rows(__global float* y, __global const float* h, __global const uchar* weight,
                                 __global float* normed, const linear_params* p) {
  for (uint r = 0; r < p->n; ++r) {
    const uint base = r * p->m;
    const float inv = rsqrt(lin_tree_sum_of_squares(h, y, base, p->m) / (float)p->m + p->norm_eps);
    for (uint i = 0; i < p->m; ++i) {
      const float v = h[base + i] + y[base + i];
      y[base + i] = v;
      normed[base + i] = (v * inv) * linear_load(weight, p->norm_format, i);
    }
  }
}

// Counts this work-item done; true for the last of the launch, which then sees every work-item's
// stores and must set the counter back to zero for the next launch once its epilogue is done.
inline bool lin_last_to_finish(__global int* counter) {
  mem_fence(CLK_GLOBAL_MEM_FENCE);
  const int items = (int)(get_global_size(0) * get_global_size(1) * get_global_size(2));
  if (atomic_inc(counter) != items - 1) return false;
  mem_fence(CLK_GLOBAL_MEM_FENCE);
  return true;
}

inline void lin_count_done_and_norm(__global uchar* y, __global const uchar* h, __global const uchar* weight,
                                    __global uchar* normed, __global int* counter, const linear_params* p) {
  if (!lin_last_to_finish(counter)) return;
  lin_add_rmsnorm_rows((__global float*)y, (__global const float*)h, weight, (__global float*)normed, p);
  *counter = 0;
}

#define LIN_ADD_RMSNORM_ARGS                                                                                       \
  __global const uchar *x, __global const uchar *w, __global const uchar *scale, __global const uchar *shift,        \
      __global const uchar *bias, __global uchar *y, __global const uchar *h, __global const uchar *norm_weight,     \
      __global uchar *normed, __global int *counter, const linear_params p

__kernel void linear_q4_add_rmsnorm(LIN_ADD_RMSNORM_ARGS) {
  LIN_Q4_TILE(8u, 1u)
  lin_count_done_and_norm(y, h, norm_weight, normed, counter, &p);
}

__kernel void linear_q8_add_rmsnorm(LIN_ADD_RMSNORM_ARGS) {
  LIN_Q8_TILE(8u, 1u)
  lin_count_done_and_norm(y, h, norm_weight, normed, counter, &p);
}

__kernel void linear_f_add_rmsnorm(LIN_ADD_RMSNORM_ARGS) {
  LIN_F_TILE(8u, 1u)
  lin_count_done_and_norm(y, h, norm_weight, normed, counter, &p);
}

// ---- the rope_kv_write epilogue (linear_rope_kv_write, runtime/ops/linear_rope_kv_write.cpp) ----
// For CPU devices, the decode tile (n = 1), float32 x and y: y is an attention's q/k/v
// projection [n, q_heads + 2 kv_heads, d]; the last work-item to count itself done (as the
// add_rmsnorm epilogue's) does the rope_kv_write of y alone: no launch of rope_kv_write. The
// sine and cosine of a rotated pair's angle depend on the token and the pair only, so they are
// computed once for all heads; each rotation is rope_kv_write's (cl/common_rope.cl), bit for
// bit. As rope_kv_write, no cache row is written when start puts the block outside the cache.
inline void lin_rope_rows(__global const float* row, uint first_head, uint heads, uint d, uint half_dim, uint t, float2 sc,
                          __global float* out, uint out_base) {
  for (uint h = 0; h < heads; ++h) {
    const uint src = (first_head + h) * d, dst = out_base + h * d;
    const float a = row[src + t], b = row[src + t + half_dim];
    const float2 rotated = rope_rotated_f32(a, -b, b, sc);
    out[dst + t] = rotated.x;
    out[dst + t + half_dim] = rotated.y;
  }
}

inline void lin_rope_kv_write_rows(__global const float* y, __global const int* positions, __global const float* inv_freq,
                                   __global const int* start, __global float* q, __global float* k_cache,
                                   __global float* v_cache, const linear_params* p) {
  const uint q_heads = p->rope_q_heads, kv_heads = p->rope_kv_heads, half_dim = p->rope_half_dim;
  const uint d = p->m / (q_heads + 2u * kv_heads);
  const int s = start[0];
  const bool to_cache = s >= 0 && s <= (int)(p->rope_max_len - p->n);
  for (uint token = 0; token < p->n; ++token) {
    __global const float* row = y + token * p->m;
    const uint q_base = token * q_heads * d, k_base = ((uint)s + token) * kv_heads * d;
    for (uint t = 0; t < half_dim; ++t) {
      const float2 sc = accurate_sincos(rope_angle(positions[token], inv_freq[t]));
      lin_rope_rows(row, 0, q_heads, d, half_dim, t, sc, q, q_base);
      if (to_cache) lin_rope_rows(row, q_heads, kv_heads, d, half_dim, t, sc, k_cache, k_base);
    }
    for (uint e = 2u * half_dim; e < d; ++e) {  // dims past rotary_dim pass through
      for (uint h = 0; h < q_heads; ++h) q[q_base + h * d + e] = row[h * d + e];
      if (!to_cache) continue;
      for (uint h = 0; h < kv_heads; ++h) k_cache[k_base + h * d + e] = row[(q_heads + h) * d + e];
    }
    if (!to_cache) continue;
    for (uint e = 0; e < kv_heads * d; ++e) {  // v as bytes (NaN payloads stay)
      ((__global uint*)v_cache)[k_base + e] = ((__global const uint*)row)[(q_heads + kv_heads) * d + e];
    }
  }
}

inline void lin_count_done_and_rope(__global uchar* y, __global const int* positions, __global const float* inv_freq,
                                    __global const int* start, __global int* counter, __global uchar* q,
                                    __global uchar* k_cache, __global uchar* v_cache, const linear_params* p) {
  if (!lin_last_to_finish(counter)) return;
  lin_rope_kv_write_rows((__global const float*)y, positions, inv_freq, start, (__global float*)q, (__global float*)k_cache,
                         (__global float*)v_cache, p);
  *counter = 0;
}

#define LIN_ROPE_KV_WRITE_ARGS                                                                                     \
  __global const uchar *x, __global const uchar *w, __global const uchar *scale, __global const uchar *shift,        \
      __global const uchar *bias, __global uchar *y, __global const int *positions, __global const float *inv_freq,  \
      __global const int *start, __global int *counter, __global uchar *q, __global uchar *k_cache,                  \
      __global uchar *v_cache, const linear_params p

__kernel void linear_q4_rope_kv_write(LIN_ROPE_KV_WRITE_ARGS) {
  LIN_Q4_TILE(8u, 1u)
  lin_count_done_and_rope(y, positions, inv_freq, start, counter, q, k_cache, v_cache, &p);
}

__kernel void linear_q8_rope_kv_write(LIN_ROPE_KV_WRITE_ARGS) {
  LIN_Q8_TILE(8u, 1u)
  lin_count_done_and_rope(y, positions, inv_freq, start, counter, q, k_cache, v_cache, &p);
}

__kernel void linear_f_rope_kv_write(LIN_ROPE_KV_WRITE_ARGS) {
  LIN_F_TILE(8u, 1u)
  lin_count_done_and_rope(y, positions, inv_freq, start, counter, q, k_cache, v_cache, &p);
}
