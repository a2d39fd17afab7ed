#version 450
// Specialised linear shaders, one per weight format (the mirror of cl/linear_gemv.cl); the
// launch is in runtime/ops/linear_kernels.cpp, the parameters are LinearParams
// (shaders/linear_common.glsl).
//
// Work split. A "slot" is one invocation's share of W: ROWS rows (lane l of ROWS consecutive
// 8-row groups, so the 8 lanes of a subgroup read 8 neighbouring rows) against NX consecutive
// rows of x (grid dimension z walks the tiles of x: n ≤ 8 is one tile, the GEMV); the host
// sets rows_per_item = ROWS and x_rows_per_item = NX from n (specialization constants here). The workgroup holds
// local / k_split slots × k_split slices: slice i walks every k_split-th step of k, and the
// slices of a slot meet once in shared memory. CPU devices use k_split = 1 (no barrier: a
// barrier costs llvmpipe more than the split saves; its lanes load x at one address, but each
// lane still fetches it, hence the _tx variants); GPUs split k to have enough loads in flight.
// Every weight is read once per tile of x.
//
// Tiers (runtime/kernel_tiers.h), each a variant suffix beside the baseline, which loads 32-bit
// words and meets the slices of a split k in shared memory:
//   _sg   the slices of a slot are the lanes of one subgroup (k_split = gl_SubgroupSize) and
//         meet through subgroupAdd; int8 × int8 splits k too, its int32 sums stay exact.
//   _dot  int8 × int8 through packed 4 × 8-bit dot products (SPV_KHR_integer_dot_product).
//   _i64  loads through 64-bit words (shaderInt64): SIMD CPU drivers (lavapipe) fetch every
//         component of a load on its own, so 16 bytes in two components cost half of four.
//   _tx   x and W (bindings 0 and 1; int4: its scales and shifts, 2 and 3, too) read as
//         uniform texel buffers of 16-byte texels (usamplerBuffer): llvmpipe fetches a texel
//         per lane in one load, where a storage buffer's load is a loop over lanes and
//         components, each with its bounds test. linear_common.glsl's storage-buffer
//         declarations of those bindings stay unused.
//! variant linear_q4 -DQ4
//! variant linear_q8 -DQ8
//! variant linear_f8 -DF8
//! variant linear_f -DFLOAT_W
//! variant linear_i8 -DI8
//! variant linear_i8_dot -DI8 -DINT_DOT
//! variant linear_q4_i64 -DQ4 -DWIDE64
//! variant linear_q8_i64 -DQ8 -DWIDE64
//! variant linear_f8_i64 -DF8 -DWIDE64
//! variant linear_f_i64 -DFLOAT_W -DWIDE64
//! variant linear_i8_i64 -DI8 -DWIDE64
//! variant linear_i8_dot_i64 -DI8 -DINT_DOT -DWIDE64
//! variant linear_q4_sg -DQ4 -DSUBGROUP_SUMS --target-env vulkan1.1
//! variant linear_q8_sg -DQ8 -DSUBGROUP_SUMS --target-env vulkan1.1
//! variant linear_f8_sg -DF8 -DSUBGROUP_SUMS --target-env vulkan1.1
//! variant linear_f_sg -DFLOAT_W -DSUBGROUP_SUMS --target-env vulkan1.1
//! variant linear_i8_sg -DI8 -DSUBGROUP_SUMS --target-env vulkan1.1
//! variant linear_i8_sg_dot -DI8 -DSUBGROUP_SUMS -DINT_DOT --target-env vulkan1.1
//! variant linear_q4_sg_i64 -DQ4 -DSUBGROUP_SUMS -DWIDE64 --target-env vulkan1.1
//! variant linear_q8_sg_i64 -DQ8 -DSUBGROUP_SUMS -DWIDE64 --target-env vulkan1.1
//! variant linear_f8_sg_i64 -DF8 -DSUBGROUP_SUMS -DWIDE64 --target-env vulkan1.1
//! variant linear_f_sg_i64 -DFLOAT_W -DSUBGROUP_SUMS -DWIDE64 --target-env vulkan1.1
//! variant linear_i8_sg_i64 -DI8 -DSUBGROUP_SUMS -DWIDE64 --target-env vulkan1.1
//! variant linear_i8_sg_dot_i64 -DI8 -DSUBGROUP_SUMS -DINT_DOT -DWIDE64 --target-env vulkan1.1
//! variant linear_q4_tx -DQ4 -DTEXEL_XW -DTEXEL_GROUP_VALUES -DLINEAR_GROUP_SCALES_ONLY
//! variant linear_q8_tx -DQ8 -DTEXEL_XW
#extension GL_GOOGLE_include_directive : require
#ifdef WIDE64
#extension GL_ARB_gpu_shader_int64 : require
#endif
#ifdef SUBGROUP_SUMS
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#ifdef INT_DOT
#extension GL_EXT_spirv_intrinsics : require
#endif
#include "linear_common.glsl"
#include "rope.glsl"

// The tile and the float formats are specialization constants (the launch sets them from the
// parameters, runtime/ops/linear_kernels.cpp): a pipeline holds one tile body and no per-load
// format switch.
layout(constant_id = 3) const uint TILE_ROWS = 1u;  // rows_per_item
layout(constant_id = 4) const uint TILE_NX = 8u;    // x_rows_per_item
// Booleans, not format codes: glslang folds a comparison of a specialization constant with
// a constant using the default value instead of leaving it to the specialization.
layout(constant_id = 5) const bool X_F32 = true;    // x_format: float32, else ...
layout(constant_id = 6) const bool X_F16 = false;   // ... float16, else bfloat16
layout(constant_id = 7) const bool W_F32 = true;    // w_format (float W), the same way
layout(constant_id = 8) const bool W_F16 = false;
// The epilogue (runtime/ops/linear_fused.cpp): 1 y is the delta of a residual add, followed by
// the RMSNorm of the sum — h + y replaces y, and rmsnorm(h + y) · weight goes to binding 8 (h:
// binding 6, the norm's weight: 7). Every invocation counts itself done on binding 9; the last
// one computes the rows alone, so no launch of its own and no barrier: for CPU devices (one
// invocation's pass over a row is shorter than a launch, which costs llvmpipe 40–100 µs), with
// float32 x and y.
// 2 (blocked int4 only, k_split 1, ROWS even): rows 2i and 2i + 1 of W are the gate and up rows
// i of a gated MLP (linear_swiglu, runtime/ops/linear_swiglu.cpp), tile rows t and t + 1 of one
// slot, which writes silu(gate) · up to column i of y: the swiglu without a launch of its own.
// 3 (CPU devices, float32 x and y): y is an attention's q/k/v projection [n, q_heads + 2 kv_heads,
// d], and the last invocation to count itself done (as for 1) does its rope_kv_write alone
// (runtime/ops/linear_rope_kv_write.cpp): rope of q into binding 10, of k into the key cache (11)
// and v into the value cache (12) at rows start.. (positions, inv_freq and start: bindings 6-8).
layout(constant_id = 9) const uint EPILOGUE = 0u;
const uint EPILOGUE_ADD_RMSNORM = 1u;
const uint EPILOGUE_SWIGLU = 2u;
const uint EPILOGUE_ROPE_KV_WRITE = 3u;

const uint LIN_LOCAL = 64u;      // the largest workgroup (the launch may use fewer invocations)
const uint LIN_MAX_N = 8u;
const uint LIN_BLOCK = 32u;      // blocked layout: codes per block row (runtime/ops/linear_layout.h)
const uint LIN_ROW_GROUP = 8u;   // rows per row group

// 16- and 32-byte loads of x, W and (blocked int4) the scales and shifts: uvec4 (four 32-bit
// components) or, in the _i64 variants, 64-bit components. Indices count 16- or 32-byte units.
#ifdef WIDE64
uvec4 words(u64vec2 v) { return uvec4(unpackUint2x32(v.x), unpackUint2x32(v.y)); }
#define UNIT_LOADS(name, binding_index)                                                          \
  layout(std430, binding = binding_index) readonly buffer name##Units16 { u64vec2 name##16_units[]; }; \
  layout(std430, binding = binding_index) readonly buffer name##Units32 { u64vec4 name##32_units[]; }; \
  uvec4 name##_load16(uint i) { return words(name##16_units[i]); }                               \
  void name##_load32(uint i, out uvec4 a, out uvec4 b) {                                         \
    const u64vec4 v = name##32_units[i];                                                         \
    a = words(v.xy);                                                                             \
    b = words(v.zw);                                                                             \
  }
#else
#define UNIT_LOADS(name, binding_index)                                                          \
  layout(std430, binding = binding_index) readonly buffer name##Units16 { uvec4 name##16_units[]; };   \
  uvec4 name##_load16(uint i) { return name##16_units[i]; }                                      \
  void name##_load32(uint i, out uvec4 a, out uvec4 b) {                                         \
    a = name##16_units[2u * i];                                                                  \
    b = name##16_units[2u * i + 1u];                                                             \
  }
#endif
#ifdef TEXEL_XW
#define TEXEL_LOADS(name, binding_index)                                                         \
  layout(binding = binding_index) uniform usamplerBuffer name##_texels;                          \
  uvec4 name##_load16(uint i) { return texelFetch(name##_texels, int(i)); }                      \
  void name##_load32(uint i, out uvec4 a, out uvec4 b) {                                         \
    a = texelFetch(name##_texels, int(2u * i));                                                  \
    b = texelFetch(name##_texels, int(2u * i + 1u));                                             \
  }
TEXEL_LOADS(x, 0)
TEXEL_LOADS(w, 1)
#else
UNIT_LOADS(x, 0)
UNIT_LOADS(w, 1)
#endif
#ifdef TEXEL_GROUP_VALUES
TEXEL_LOADS(scale, 2)
TEXEL_LOADS(shift, 3)
#else
UNIT_LOADS(scale, 2)
UNIT_LOADS(shift, 3)
#endif

shared float partial[LIN_LOCAL][LIN_MAX_N];
layout(std430, binding = 5) coherent buffer YDone { uint y_done[]; };  // y as the last invocation reads it
layout(std430, binding = 6) readonly buffer ResidualBuf { uint residual_words[]; };
layout(std430, binding = 7) readonly buffer NormBuf { uint norm_words[]; };
layout(std430, binding = 8) writeonly buffer NormedBuf { uint normed_words[]; };
layout(std430, binding = 9) coherent buffer CounterBuf { uint invocations_done; };
// The rope_kv_write epilogue's (bindings 6-8 then hold positions, inv_freq and start).
layout(std430, binding = 6) readonly buffer RopePositions { int rope_positions[]; };
layout(std430, binding = 7) readonly buffer RopeInvFreq { float rope_inv_freq[]; };
layout(std430, binding = 8) readonly buffer RopeStart { int rope_start; };
layout(std430, binding = 10) writeonly buffer RopeQ { uint rope_q[]; };
layout(std430, binding = 11) writeonly buffer RopeKCache { uint rope_k_cache[]; };
layout(std430, binding = 12) writeonly buffer RopeVCache { uint rope_v_cache[]; };

// Four 16-bit floats (f16 or bf16) of two words, as floats.
vec4 halves(bool f16, uvec2 h) {
  if (f16) return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
  return uintBitsToFloat(uvec4(h.x << 16, h.x & 0xFFFF0000u, h.y << 16, h.y & 0xFFFF0000u));
}

// Elements i .. i+15 (i a multiple of 16) of an f32/f16/bf16 tensor, as v[0..3].
#define FLOAT16_AT(load32, is_f32, is_f16, i, v)                        \
  {                                                                     \
    uvec4 a_, b_;                                                       \
    if (is_f32) {                                                       \
      load32((i) / 8u, a_, b_);                                         \
      v[0] = uintBitsToFloat(a_);                                       \
      v[1] = uintBitsToFloat(b_);                                       \
      load32((i) / 8u + 1u, a_, b_);                                    \
      v[2] = uintBitsToFloat(a_);                                       \
      v[3] = uintBitsToFloat(b_);                                       \
    } else {                                                            \
      load32((i) / 16u, a_, b_);                                        \
      v[0] = halves((is_f16), a_.xy);                                      \
      v[1] = halves((is_f16), a_.zw);                                      \
      v[2] = halves((is_f16), b_.xy);                                      \
      v[3] = halves((is_f16), b_.zw);                                      \
    }                                                                   \
  }

void x16(uint i, out vec4 v[4]) FLOAT16_AT(x_load32, X_F32, X_F16, i, v)

bool finite(float v) { return (floatBitsToUint(v) & 0x7F800000u) != 0x7F800000u; }

// The slot and k slice of this invocation, and the tile of x it serves.
struct Slot {
  uint index, slice, j0, nx;  // nx: rows of x that exist in this tile
};

Slot this_slot(uint NX) {
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;  // wrapped past 65535
  const uint j0 = gl_WorkGroupID.z * NX;
  const uint nx = min(NX, p.n - min(p.n, j0));
#ifdef SUBGROUP_SUMS
  // One slot per subgroup, its lanes the slices (the host sets k_split = the subgroup size).
  return Slot(group * gl_NumSubgroups + gl_SubgroupID, gl_SubgroupInvocationID, j0, nx);
#else
  const uint slots_per_group = gl_WorkGroupSize.x / p.k_split;
  const uint lid = gl_LocalInvocationID.x;
  return Slot(group * slots_per_group + lid % slots_per_group, lid / slots_per_group, j0, nx);
#endif
}

// Row t of a slot: lane (index mod 8) of row group (index / 8)·ROWS + t.
uint slot_row(Slot slot, uint t, uint rows) {
  return ((slot.index / LIN_ROW_GROUP) * rows + t) * LIN_ROW_GROUP + slot.index % LIN_ROW_GROUP;
}

// Sums the slices of a slot (k_split > 1) over its first nx values; true for the invocation
// that then holds the total. Every invocation of the workgroup calls it (barriers).
bool reduce_slices(inout float acc[LIN_MAX_N], Slot slot, uint nx) {
  if (p.k_split == 1u) return true;
#ifdef SUBGROUP_SUMS
  for (uint j = 0u; j < nx; ++j) acc[j] = subgroupAdd(acc[j]);
#else
  const uint slots_per_group = gl_WorkGroupSize.x / p.k_split;
  for (uint j = 0u; j < nx; ++j) partial[gl_LocalInvocationID.x][j] = acc[j];
  barrier();
  if (slot.slice == 0u) {
    for (uint s = 1u; s < p.k_split; ++s) {
      for (uint j = 0u; j < nx; ++j) acc[j] += partial[s * slots_per_group + gl_LocalInvocationID.x][j];
    }
  }
  barrier();  // before `partial` is written again
#endif
  return slot.slice == 0u;
}

// The slot's finished sums acc[t][j] (float, or int for I8), scaled, biased and rounded.
#define STORE_TILE(ROWS, NX, slot, acc) STORE_TILE_ROWS(ROWS, NX, slot, acc, slot_row(slot, t, ROWS))
// ROW_OF_T: the row of W of tile row t.
#define STORE_TILE_ROWS(ROWS, NX, slot, acc, ROW_OF_T)                                                   \
  for (uint t = 0u; t < ROWS; ++t) {                                                                     \
    float total[LIN_MAX_N];                                                                              \
    for (uint j = 0u; j < LIN_MAX_N; ++j) total[j] = j < NX ? float(acc[t][min(j, NX - 1u)]) : 0.0;     \
    const uint row = ROW_OF_T;                                                                           \
    if (reduce_slices(total, slot, NX) && row < p.m) {                                                   \
      for (uint j = 0u; j < NX; ++j) {                                                                   \
        if (j < slot.nx) STORE_FLOAT(y_words, (slot.j0 + j) * p.y_row_stride + row, p.y_format, linear_finish(total[j], row)); \
      }                                                                                                  \
    }                                                                                                    \
  }

// The swiglu epilogue's store: the finished sums of rows row0 + t (gate) and row0 + t + 1 (up),
// t even, as y's column (row0 + t) / 2 (y_row_stride: m / 2).
#define STORE_SWIGLU_PAIRS(ROWS, NX, slot, acc, row0)                                                   \
  for (uint t = 0u; t < ROWS; t += 2u) {                                                                \
    const uint row = (row0) + t;                                                                        \
    for (uint j = 0u; j < NX; ++j) {                                                                    \
      if (j < slot.nx && row < p.m) {                                                                   \
        const float gate = linear_finish(float(acc[t][j]), row), up = linear_finish(float(acc[t + 1u][j]), row + 1u); \
        STORE_FLOAT(y_words, (slot.j0 + j) * p.y_row_stride + row / 2u, p.y_format, silu(gate) * up);  \
      }                                                                                                 \
    }                                                                                                   \
  }

// The row of x that tile row j reads (rows past n repeat the last one; never stored).
uint x_row(Slot slot, uint j) { return slot.j0 + min(j, slot.nx - 1u); }

#ifdef Q4
// Blocked int4 (runtime/ops/linear_layout.h): a slot's ROWS rows are consecutive rows of one
// 8-row group, so their block rows are ROWS · 16 contiguous bytes and their scales (shifts) for
// a group ROWS contiguous values: one wide load each per block and per group.
//
// A row's block is 16 bytes (one uvec4): the low nibble of byte j is code c + j, the high
// nibble code c + 16 + j. The shift is folded out of the sums: per group,
//   Σ (s·q − sh)·x = s·Σ q·x − sh·Σ x,
// with Σ x shared by every row of W. A masked nibble converts straight to q·2^(8i) (i: its
// byte in the word), so x is pre-scaled by 2^(-8i) once per block for all rows; the scalings
// are exact. A NaN or ±inf in a group's Σ x, scale or shift always leaves the folded sum NaN or
// ±inf (s·Σq·x − sh·Σx: ∞·0 is NaN), so the hot loop checks nothing: a sum that comes out
// non-finite is recomputed with W' = s·q − sh per element, which spreads NaN and ±inf element
// by element as torch does (and which also serves a folded sum that overflowed).
// Padding rows have zero codes, scales and shifts: computed, never stored.
const uvec4 kNibbleMask = uvec4(0xFu, 0xF00u, 0xF0000u, 0xF000000u);
const vec4 kNibbleScale = vec4(1.0, 1.0 / 256.0, 1.0 / 65536.0, 1.0 / 16777216.0);

float qdot_word(uint word, vec4 xa, vec4 xb) {
  return dot(vec4(ivec4(uvec4(word) & kNibbleMask)), xa) + dot(vec4(ivec4(uvec4(word >> 4) & kNibbleMask)), xb);
}

float exact_word(uint word, float s, float sh, vec4 xa, vec4 xb) {
  const vec4 lo = vec4((uvec4(word) >> uvec4(0u, 8u, 16u, 24u)) & 15u);
  const vec4 hi = vec4((uvec4(word) >> uvec4(4u, 12u, 20u, 28u)) & 15u);
  return dot(lo * s - sh, xa) + dot(hi * s - sh, xb);
}

// The block rows of rows row0 .. row0 + ROWS - 1 (ROWS | 8, row0 a multiple of ROWS) for block
// `unit` (the 16-byte unit of row0's block row).
void load_block_rows(uint unit, uint rows, out uvec4 q[8]) {
  if (rows == 1u) {
    q[0] = w_load16(unit);
    return;
  }
  for (uint t = 0u; t < rows / 2u; ++t) w_load32(unit / 2u + t, q[2u * t], q[2u * t + 1u]);
}

// Values e0 .. e0 + ROWS - 1 of a blocked scale or shift tensor (float32 or 16-bit), loaded
// as the 32- or 16-byte unit that holds them. A macro: GLSL passes no buffers.
#define GROUP_VALUES(name, e0, rows, v)                                                \
  {                                                                                    \
    const bool f32_ = p.scale_format == LIN_FMT_F32;                                   \
    const uint bytes_ = rows * (f32_ ? 4u : 2u), offset_ = (e0) * (f32_ ? 4u : 2u);    \
    uvec4 a_, b_ = uvec4(0u);                                                          \
    if (bytes_ == 32u) {                                                               \
      name##_load32(offset_ / 32u, a_, b_);                                            \
    } else {                                                                           \
      a_ = name##_load16(offset_ / 16u);                                               \
    }                                                                                  \
    const uint first_ = (offset_ % 16u) / 4u; /* the word of e0 in a 16-byte unit */   \
    for (uint t = 0u; t < rows; ++t) {                                                 \
      const uint half_ = f32_ ? 0u : (offset_ % 4u) / 2u + t;                          \
      const uint word_ = f32_ ? (bytes_ == 32u ? t : first_ + t) : first_ + half_ / 2u; \
      const uint bits_ = word_ < 4u ? a_[word_] : b_[word_ - 4u];                       \
      v[t] = f32_ ? uintBitsToFloat(bits_) : linear_half(p.scale_format, (bits_ >> (16u * (half_ & 1u))) & 0xFFFFu); \
    }                                                                                  \
  }

// Group g of the W row whose block rows start at 16-byte unit `unit`, against row xj of x,
// element by element.
float exact_group(uint unit, uint g, uint per_group, float s, float sh, uint xj) {
  float sum = 0.0;
  for (uint b = g * per_group; b < (g + 1u) * per_group; ++b) {
    const uvec4 q = w_load16(unit + b * LIN_ROW_GROUP);
    vec4 lo[4], hi[4];
    x16(xj * p.k + b * LIN_BLOCK, lo);
    x16(xj * p.k + b * LIN_BLOCK + 16u, hi);
    for (uint i = 0u; i < 4u; ++i) sum += exact_word(q[i], s, sh, lo[i], hi[i]);
  }
  return sum;
}

// The slot's share of its row `row_t` (of `rows`) against row xj of x, every group element by
// element (exact_group): for a folded sum that came out NaN or ±inf.
float exact_slice(uint unit0, uint row_t, uint rows, uint group_row, uint lane, uint groups, uint per_group, uint slice,
                  uint xj) {
  float sum = 0.0;
  for (uint g = slice; g < groups; g += p.k_split) {
    const uint e0 = (group_row * groups + g) * LIN_ROW_GROUP + lane;
    float s[8], sh[8];
    GROUP_VALUES(scale, e0, rows, s)
    GROUP_VALUES(shift, e0, rows, sh)
    sum += exact_group(unit0 + row_t, g, per_group, s[row_t], sh[row_t], xj);
  }
  return sum;
}

#define TILE(ROWS, NX)                                                                                            \
  {                                                                                                               \
    const Slot slot = this_slot(NX);                                                                              \
    const uint blocks = p.k / LIN_BLOCK, groups = p.k / p.group_size, per_group = p.group_size / LIN_BLOCK;       \
    const uint row0 = slot.index * ROWS, group_row = row0 / LIN_ROW_GROUP, lane = row0 % LIN_ROW_GROUP;           \
    const uint unit0 = group_row * blocks * LIN_ROW_GROUP + lane; /* block 0's 16-byte unit of row0 */           \
    float acc[ROWS][NX];                                                                                          \
    for (uint t = 0u; t < ROWS; ++t) {                                                                            \
      for (uint j = 0u; j < NX; ++j) acc[t][j] = 0.0;                                                             \
    }                                                                                                             \
    for (uint g = slot.slice; g < groups; g += p.k_split) {                                                       \
      float qx[ROWS][NX], sx[NX];                                                                                 \
      for (uint j = 0u; j < NX; ++j) {                                                                            \
        sx[j] = 0.0;                                                                                              \
        for (uint t = 0u; t < ROWS; ++t) qx[t][j] = 0.0;                                                          \
      }                                                                                                           \
      for (uint b = g * per_group; b < (g + 1u) * per_group; ++b) {                                               \
        uvec4 q[8];                                                                                               \
        load_block_rows(unit0 + b * LIN_ROW_GROUP, ROWS, q);                                                      \
        for (uint j = 0u; j < NX; ++j) {                                                                          \
          const uint xc = x_row(slot, j) * p.k + b * LIN_BLOCK;                                                   \
          vec4 lo[4], hi[4];                                                                                      \
          x16(xc, lo);                                                                                            \
          x16(xc + 16u, hi);                                                                                      \
          sx[j] += dot(lo[0] + lo[1] + lo[2] + lo[3] + hi[0] + hi[1] + hi[2] + hi[3], vec4(1.0));                \
          for (uint i = 0u; i < 4u; ++i) {                                                                        \
            lo[i] *= kNibbleScale;                                                                                \
            hi[i] *= kNibbleScale;                                                                                \
          }                                                                                                       \
          for (uint t = 0u; t < ROWS; ++t) {                                                                      \
            qx[t][j] += qdot_word(q[t].x, lo[0], hi[0]) + qdot_word(q[t].y, lo[1], hi[1]) +                       \
                        qdot_word(q[t].z, lo[2], hi[2]) + qdot_word(q[t].w, lo[3], hi[3]);                        \
          }                                                                                                       \
        }                                                                                                         \
      }                                                                                                           \
      const uint e0 = (group_row * groups + g) * LIN_ROW_GROUP + lane;                                            \
      float s[8], sh[8];                                                                                          \
      GROUP_VALUES(scale, e0, ROWS, s)                                                                            \
      GROUP_VALUES(shift, e0, ROWS, sh)                                                                           \
      for (uint t = 0u; t < ROWS; ++t) {                                                                          \
        for (uint j = 0u; j < NX; ++j) {                                                                          \
          acc[t][j] += s[t] * qx[t][j] - sh[t] * sx[j];                                                           \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
    for (uint t = 0u; t < ROWS; ++t) {                                                                            \
      for (uint j = 0u; j < NX; ++j) {                                                                            \
        if (!finite(acc[t][j])) {                                                                                 \
          acc[t][j] = exact_slice(unit0, t, ROWS, group_row, lane, groups, per_group, slot.slice, x_row(slot, j)); \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
    if (EPILOGUE == EPILOGUE_SWIGLU) {                                                                            \
      STORE_SWIGLU_PAIRS(ROWS, NX, slot, acc, row0)                                                               \
    } else {                                                                                                      \
      STORE_TILE_ROWS(ROWS, NX, slot, acc, row0 + t)                                                              \
    }                                                                                                             \
  }
#endif

// ---- 16 elements per load: int8 or float8 codes, float weights, int8 × int8 ---------------------
// W [m, k] row-major, k % 16 == 0; slice i of a slot takes every k_split-th 16 columns.
#if defined(Q8) || defined(F8) || defined(FLOAT_W)
#ifdef F8
// The 16 float8 codes of a uvec4 as floats; the per-row scale goes on the finished sum.
void w16(uint row, uint c, out vec4 w[4]) {
  const uvec4 q = w_load16((row * p.k + c) / 16u);
  for (uint i = 0u; i < 4u; ++i) w[i] = linear_decode_f8x4(p.w_format, q[i]);
}
#elif defined(Q8)
// The 16 int8 codes of a uvec4, as floats (the per-row scale goes on the finished sum).
void w16(uint row, uint c, out vec4 w[4]) {
  const uvec4 q = w_load16((row * p.k + c) / 16u);
  for (uint i = 0u; i < 4u; ++i) {
    const int v = int(q[i]);
    w[i] = vec4(bitfieldExtract(v, 0, 8), bitfieldExtract(v, 8, 8), bitfieldExtract(v, 16, 8), bitfieldExtract(v, 24, 8));
  }
}
#else
void w16(uint row, uint c, out vec4 w[4]) FLOAT16_AT(w_load32, W_F32, W_F16, row * p.k + c, w)
#endif

#define TILE(ROWS, NX)                                                                                \
  {                                                                                                   \
    const Slot slot = this_slot(NX);                                                                  \
    uint rows[ROWS];                                                                                  \
    for (uint t = 0u; t < ROWS; ++t) rows[t] = min(slot_row(slot, t, ROWS), p.m - 1u);                \
    float acc[ROWS][NX];                                                                              \
    for (uint t = 0u; t < ROWS; ++t) {                                                                \
      for (uint j = 0u; j < NX; ++j) acc[t][j] = 0.0;                                                 \
    }                                                                                                 \
    for (uint c = 16u * slot.slice; c < p.k; c += 16u * p.k_split) {                                  \
      vec4 w[ROWS][4];                                                                                \
      for (uint t = 0u; t < ROWS; ++t) w16(rows[t], c, w[t]);                                         \
      for (uint j = 0u; j < NX; ++j) {                                                                \
        vec4 xv[4];                                                                                   \
        x16(x_row(slot, j) * p.k + c, xv);                                                            \
        for (uint t = 0u; t < ROWS; ++t) {                                                            \
          acc[t][j] += dot(w[t][0], xv[0]) + dot(w[t][1], xv[1]) + dot(w[t][2], xv[2]) + dot(w[t][3], xv[3]); \
        }                                                                                             \
      }                                                                                               \
    }                                                                                                 \
    STORE_TILE(ROWS, NX, slot, acc)                                                                   \
  }
#endif

#ifdef I8
// int8 × int8 in int32 (exact); the scales go on the finished sum.
ivec4 i8x4(uint word) {
  const int v = int(word);
  return ivec4(bitfieldExtract(v, 0, 8), bitfieldExtract(v, 8, 8), bitfieldExtract(v, 16, 8), bitfieldExtract(v, 24, 8));
}

#ifdef INT_DOT
// OpSDot on two words of four int8 each (capabilities DotProduct, DotProductInput4x8BitPacked;
// format 0 = PackedVectorFormat4x8Bit). x's codes stay packed.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int packed_sdot(uint a, uint b, spirv_literal int packed_format);
#define X_CODES uint
X_CODES x_codes(uint word) { return word; }
int dot4(uint w, uint x) { return packed_sdot(w, x, 0); }
#else
// x's codes unpacked once, for every row of the tile.
#define X_CODES ivec4
X_CODES x_codes(uint word) { return i8x4(word); }
int dot4(uint w, ivec4 x) {
  const ivec4 prod = i8x4(w) * x;
  return prod.x + prod.y + prod.z + prod.w;
}
#endif

void store_int_tile_row(uint row, Slot slot, int total[LIN_MAX_N]) {
  for (uint j = 0u; j < LIN_MAX_N; ++j) {
    if (j < slot.nx) {
      const uint i = (slot.j0 + j) * p.y_row_stride + row;
      if (p.raw_int != 0u) {
        y_words[i] = uint(total[j]);
      } else {
        STORE_FLOAT(y_words, i, p.y_format, linear_finish(float(total[j]), row));
      }
    }
  }
}

// Slices of k (the _sg variants only: int32 sums met as floats in shared memory would not be
// exact, so k_split is 1 otherwise, runtime/ops/linear_kernels.cpp) meet through subgroupAdd.
int slice_total(int v) {
#ifdef SUBGROUP_SUMS
  return subgroupAdd(v);
#else
  return v;
#endif
}

#define TILE(ROWS, NX)                                                                                \
  {                                                                                                   \
    const Slot slot = this_slot(NX);                                                                  \
    uint rows[ROWS];                                                                                  \
    for (uint t = 0u; t < ROWS; ++t) rows[t] = min(slot_row(slot, t, ROWS), p.m - 1u);                \
    int acc[ROWS][NX];                                                                                \
    for (uint t = 0u; t < ROWS; ++t) {                                                                \
      for (uint j = 0u; j < NX; ++j) acc[t][j] = 0;                                                   \
    }                                                                                                 \
    for (uint c = 16u * slot.slice; c < p.k; c += 16u * p.k_split) {                                  \
      uvec4 w[ROWS];                                                                                  \
      for (uint t = 0u; t < ROWS; ++t) w[t] = w_load16((rows[t] * p.k + c) / 16u);                    \
      for (uint j = 0u; j < NX; ++j) {                                                                \
        const uvec4 xw = x_load16((x_row(slot, j) * p.k + c) / 16u);                                  \
        const X_CODES x0 = x_codes(xw.x), x1 = x_codes(xw.y), x2 = x_codes(xw.z), x3 = x_codes(xw.w); \
        for (uint t = 0u; t < ROWS; ++t) {                                                            \
          acc[t][j] += dot4(w[t].x, x0) + dot4(w[t].y, x1) + dot4(w[t].z, x2) + dot4(w[t].w, x3);     \
        }                                                                                             \
      }                                                                                               \
    }                                                                                                 \
    for (uint t = 0u; t < ROWS; ++t) {                                                                \
      const uint row = slot_row(slot, t, ROWS);                                                       \
      int total[LIN_MAX_N];                                                                           \
      for (uint j = 0u; j < LIN_MAX_N; ++j) total[j] = j < NX ? slice_total(acc[t][min(j, NX - 1u)]) : 0; \
      if (row < p.m && slot.slice == 0u) store_int_tile_row(row, slot, total);                        \
    }                                                                                                 \
  }
#endif

// ---- the add_rmsnorm epilogue -------------------------------------------------------------------

float residual_sum(uint i) { return uintBitsToFloat(residual_words[i]) + uintBitsToFloat(y_done[i]); }

// Σ v² over row `base` of h + y, summed as the add_rmsnorm kernel sums it (shaders/norm.comp: 128
// invocations striding the row, then a tree in shared memory) by one invocation: each lane's sum
// in the order the tree meets them (bit-reversed lanes), the pending subtrees kept by size. The
// fused op gives the bits of the linear and add_rmsnorm ops one after the other.
float tree_sum_of_squares(uint base) {
  const uint lanes = 128u;  // the norm kernels' workgroup (runtime/ops/nn_norm.cpp)
  float pending[8];
  for (uint j = 0u; j < lanes; ++j) {
    float sum = 0.0;
    for (uint i = bitfieldReverse(j) >> 25; i < p.m; i += lanes) {
      const float v = residual_sum(base + i);
      sum += v * v;
    }
    uint level = 0u;
    for (uint c = j; (c & 1u) == 1u; c >>= 1) sum = pending[level++] + sum;
    pending[level] = sum;
  }
  return pending[7];
}

void add_rmsnorm_rows() {
  for (uint r = 0u; r < p.n; ++r) {
    const uint base = r * p.m;
    const float inv = inversesqrt(tree_sum_of_squares(base) / float(p.m) + p.norm_eps);
    for (uint i = 0u; i < p.m; ++i) {
      const float v = residual_sum(base + i);
      y_done[base + i] = floatBitsToUint(v);
      normed_words[base + i] = floatBitsToUint((v * inv) * LOAD_FLOAT(norm_words, i, p.norm_format));
    }
  }
}

// ---- the rope_kv_write epilogue -----------------------------------------------------------------
// rope_kv_write of y by one invocation, each rotation rope_kv_write's (shaders/rope.glsl), bit for
// bit; the sine and cosine of a pair's angle depend on the token and the pair only, so they are
// computed once for all heads. No cache row is written when start puts the block outside the cache.

// Heads [first_head, first_head + heads) of the row of y at row_base, pair t rotated by sc, into
// q (to_keys false) or the key cache at out_base.
void rope_heads(uint row_base, uint first_head, uint heads, uint d, uint t, vec2 sc, bool to_keys, uint out_base) {
  const uint half_dim = p.rope_half_dim;
  for (uint h = 0u; h < heads; ++h) {
    const uint src = row_base + (first_head + h) * d, dst = out_base + h * d;
    const vec2 r = rope_rotate_sc(uintBitsToFloat(y_done[src + t]), uintBitsToFloat(y_done[src + t + half_dim]), sc, DT_F32, 0.0);
    if (to_keys) {
      rope_k_cache[dst + t] = floatBitsToUint(r.x);
      rope_k_cache[dst + t + half_dim] = floatBitsToUint(r.y);
    } else {
      rope_q[dst + t] = floatBitsToUint(r.x);
      rope_q[dst + t + half_dim] = floatBitsToUint(r.y);
    }
  }
}

void rope_kv_write_rows() {
  const uint q_heads = p.rope_q_heads, kv_heads = p.rope_kv_heads, half_dim = p.rope_half_dim;
  const uint d = p.m / (q_heads + 2u * kv_heads);
  const int s = rope_start;
  const bool to_cache = s >= 0 && s <= int(p.rope_max_len - p.n);
  for (uint token = 0u; token < p.n; ++token) {
    const uint row = token * p.m, q_base = token * q_heads * d, k_base = (uint(s) + token) * kv_heads * d;
    for (uint t = 0u; t < half_dim; ++t) {
      const vec2 sc = accurate_sincos(rope_angle(rope_positions[token], rope_inv_freq[t]));
      rope_heads(row, 0u, q_heads, d, t, sc, false, q_base);
      if (to_cache) rope_heads(row, q_heads, kv_heads, d, t, sc, true, k_base);
    }
    for (uint e = 2u * half_dim; e < d; ++e) {  // dims past rotary_dim pass through
      for (uint h = 0u; h < q_heads; ++h) rope_q[q_base + h * d + e] = y_done[row + h * d + e];
      if (!to_cache) continue;
      for (uint h = 0u; h < kv_heads; ++h) rope_k_cache[k_base + h * d + e] = y_done[row + (q_heads + h) * d + e];
    }
    if (!to_cache) continue;
    for (uint e = 0u; e < kv_heads * d; ++e) rope_v_cache[k_base + e] = y_done[row + (q_heads + kv_heads) * d + e];
  }
}

void main() {
  TILE(TILE_ROWS, TILE_NX)
  if (EPILOGUE == EPILOGUE_ADD_RMSNORM || EPILOGUE == EPILOGUE_ROPE_KV_WRITE) {
    memoryBarrierBuffer();  // this invocation's y before its count
    const uint invocations = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z * gl_WorkGroupSize.x;
    if (atomicAdd(invocations_done, 1u) == invocations - 1u) {
      memoryBarrierBuffer();
      if (EPILOGUE == EPILOGUE_ADD_RMSNORM) {
        add_rmsnorm_rows();
      } else {
        rope_kv_write_rows();
      }
      invocations_done = 0u;  // for the next launch
    }
  }
}
