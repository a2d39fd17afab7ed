#version 450
// Decode-step ops; the mirror of cl/decode.cl (same bindings, parameters and algorithms: see
// the comments there). Float tensors are bound as uint words (no 16-bit storage feature).
//! variant kv_write -DKV_WRITE
//! variant attention -DATTENTION
//! variant attention_tx -DATTENTION -DTEXEL_QKV
//! variant argmax -DARGMAX
//! variant topk -DTOPK
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#ifdef KV_WRITE
layout(std430, binding = 0) buffer Cache { uint cache[]; };
layout(std430, binding = 1) readonly buffer Src { uint src[]; };
layout(std430, binding = 2) readonly buffer Start { int start[]; };
layout(push_constant) uniform Params {
  uint batches, max_len, n, row_elems, elem_bytes, units;
} p;

// Unit t of a 2-byte block is destination word dst0 / 2 + t: stored whole when both its halves
// are in the block (no one else writes it), else its one half atomically (the word it shares
// with a neighbouring batch's block, or with cache rows left as they are).
void main() {
  const uint id = flat_id();
  if (id >= p.batches * p.units) return;
  const uint b = id / p.units, t = id - b * p.units;
  const int s = start[b];
  if (s < 0 || s > int(p.max_len - p.n)) return;
  const uint count = p.n * p.row_elems;
  const uint dst0 = (b * p.max_len + uint(s)) * p.row_elems, src0 = b * count;
  if (p.elem_bytes == 4u) {
    cache[dst0 + t] = src[src0 + t];
    return;
  }
  const uint e = 2u * (dst0 / 2u + t);
  const bool low = e >= dst0 && e < dst0 + count, high = e + 1u >= dst0 && e + 1u < dst0 + count;
  if (low && high) {
    cache[e >> 1] = WORD_HALF(src, src0 + e - dst0) | (WORD_HALF(src, src0 + e + 1u - dst0) << 16);
  } else if (low) {
    STORE_HALF_ATOMIC(cache, e, WORD_HALF(src, src0 + e - dst0));
  } else if (high) {
    STORE_HALF_ATOMIC(cache, e + 1u, WORD_HALF(src, src0 + e + 1u - dst0));
  }
}
#endif

#ifdef ATTENTION
#define ATT_LOCAL 64
#define ATT_GROUP 4
#define ATT_SCORES 1024
#define ATT_MAX_D 256
#define ATT_NO_SCORE -3.0e38

#ifdef TEXEL_QKV
// The texel tier (runtime/kernel_tiers.h), for float32 with d and dv multiples of 4 (the host
// checks): q, k and v as texel buffers of four floats, so a quad is one fetch, and q's quads
// are read from q instead of a copy in shared memory (a shared-memory load, too, is a loop over
// lanes on llvmpipe).
layout(binding = 0) uniform usamplerBuffer q_texels;
layout(binding = 1) uniform usamplerBuffer k_texels;
layout(binding = 2) uniform usamplerBuffer v_texels;
vec4 texel_quad(usamplerBuffer t, uint i) { return uintBitsToFloat(texelFetch(t, int(i >> 2))); }
vec4 load_k_quad(uint i, uint count) { return texel_quad(k_texels, i); }
vec4 load_v_quad(uint i, uint count) { return texel_quad(v_texels, i); }
#else
// K and V are also read four elements a load, through vector views of the same bindings.
layout(std430, binding = 0) readonly buffer Q { uint q[]; };
layout(std430, binding = 1) readonly buffer K { uint k[]; };
layout(std430, binding = 1) readonly buffer K2 { uvec2 k2[]; };
layout(std430, binding = 1) readonly buffer K4 { uvec4 k4[]; };
layout(std430, binding = 2) readonly buffer V { uint v[]; };
layout(std430, binding = 2) readonly buffer V2 { uvec2 v2[]; };
layout(std430, binding = 2) readonly buffer V4 { uvec4 v4[]; };
#endif
layout(std430, binding = 3) readonly buffer KvLen { int kv_len[]; };
layout(std430, binding = 4) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint batches, sq, heads, skmax, kv_heads, d, dv, causal;
  float scale;
  uint dtype;
} p;

shared float q_rows[ATT_GROUP * ATT_MAX_D];
shared float scores[ATT_SCORES];
shared float scratch[ATT_GROUP * ATT_LOCAL];

// Elements i .. i + 3 of k or v, those from `count` on read as 0: one vector load when the quad
// is whole and 4-aligned (uvec4 of float32, uvec2 of 16-bit halves), else element by element.
#define DEFINE_LOAD_QUAD(name, words, words2, words4)                                             \
  vec4 name(uint i, uint count) {                                                                \
    if (count >= 4u && (i & 3u) == 0u) {                                                          \
      if (p.dtype == DT_F32) return uintBitsToFloat(words4[i >> 2]);                              \
      const uvec2 w = words2[i >> 2];                                                             \
      return uintBitsToFloat(uvec4(widen_float_bits(w.x & 0xFFFFu, p.dtype), widen_float_bits(w.x >> 16, p.dtype), \
                                   widen_float_bits(w.y & 0xFFFFu, p.dtype), widen_float_bits(w.y >> 16, p.dtype))); \
    }                                                                                             \
    vec4 r = vec4(0.0);                                                                           \
    for (uint e = 0u; e < 4u; ++e) {                                                              \
      if (e < count) r[e] = LOAD_FLOAT(words, i + e, p.dtype);                                    \
    }                                                                                             \
    return r;                                                                                     \
  }
#ifndef TEXEL_QKV
DEFINE_LOAD_QUAD(load_k_quad, k, k2, k4)
DEFINE_LOAD_QUAD(load_v_quad, v, v2, v4)
#endif

// For each of the `n` heads: the max (is_max) or the sum of x[g] over the workgroup, into x[g].
void reduce_heads(inout float x[ATT_GROUP], uint n, bool is_max) {
  const uint lid = gl_LocalInvocationID.x;
  for (uint g = 0u; g < ATT_GROUP; ++g) scratch[g * ATT_LOCAL + lid] = x[g];
  barrier();
  for (uint s = ATT_LOCAL / 2u; s > 0u; s >>= 1) {
    if (lid < s) {
      for (uint g = 0u; g < n; ++g) {
        const float a = scratch[g * ATT_LOCAL + lid], b = scratch[g * ATT_LOCAL + lid + s];
        scratch[g * ATT_LOCAL + lid] = is_max ? max(a, b) : a + b;
      }
    }
    barrier();
  }
  for (uint g = 0u; g < ATT_GROUP; ++g) x[g] = scratch[g * ATT_LOCAL];
  barrier();
}

// Elements c .. c + 3 of query head g of the workgroup, whose row of q starts at q_row.
vec4 q_quad(uint g, uint c, uint q_row) {
#ifdef TEXEL_QKV
  return texel_quad(q_texels, q_row + c);
#else
  const uint o = g * ATT_MAX_D + c;
  return vec4(q_rows[o], q_rows[o + 1u], q_rows[o + 2u], q_rows[o + 3u]);
#endif
}

void main() {
  const uint group_heads = p.heads / p.kv_heads, groups = (group_heads + ATT_GROUP - 1u) / ATT_GROUP;
  const uint wg = flat_group_id();
  if (wg >= p.batches * p.sq * p.kv_heads * groups) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint group = wg % groups, kvh = wg / groups % p.kv_heads, bi = wg / groups / p.kv_heads;
  const uint b = bi / p.sq, i = bi % p.sq;
  const uint h0 = kvh * group_heads + group * ATT_GROUP, n = min(uint(ATT_GROUP), group_heads - group * ATT_GROUP);
  const int len = clamp(kv_len[b], 0, int(p.skmax));
  const uint limit = uint(p.causal != 0u ? clamp(int(i) + len - int(p.sq) + 1, 0, len) : len);
  const uint k_stride = p.kv_heads * p.d, v_stride = p.kv_heads * p.dv;
  const uint k0 = b * p.skmax * k_stride + kvh * p.d, v0 = b * p.skmax * v_stride + kvh * p.dv;
  const uint d4 = (p.d + 3u) / 4u * 4u;
#ifndef TEXEL_QKV
  for (uint t = lid; t < n * d4; t += ATT_LOCAL) {
    const uint g = t / d4, c = t % d4;
    q_rows[g * ATT_MAX_D + c] = c < p.d ? LOAD_FLOAT(q, (bi * p.heads + h0 + g) * p.d + c, p.dtype) : 0.0;
  }
  barrier();
#endif
  uint quads = 1u;
  while (4u * quads < p.dv) quads *= 2u;
  const uint quad = lid % quads, phase = lid / quads, phases = ATT_LOCAL / quads;
  const uint chunk = ATT_SCORES / n;
  float m[ATT_GROUP], l[ATT_GROUP];
  vec4 acc[ATT_GROUP];
  for (uint g = 0u; g < ATT_GROUP; ++g) {
    m[g] = ATT_NO_SCORE;
    l[g] = 0.0;
    acc[g] = vec4(0.0);
  }
  for (uint j0 = 0u; j0 < limit; j0 += chunk) {
    const uint count = min(chunk, limit - j0);
    float top[ATT_GROUP];
    for (uint g = 0u; g < ATT_GROUP; ++g) top[g] = ATT_NO_SCORE;
    for (uint jj = lid; jj < count; jj += ATT_LOCAL) {
      const uint row = k0 + (j0 + jj) * k_stride;
      float qk[ATT_GROUP];
      for (uint g = 0u; g < ATT_GROUP; ++g) qk[g] = 0.0;
      for (uint c = 0u; c < p.d; c += 4u) {
        const vec4 kq = load_k_quad(row + c, p.d - c);
        for (uint g = 0u; g < n; ++g) qk[g] += dot(q_quad(g, c, (bi * p.heads + h0 + g) * p.d), kq);
      }
      for (uint g = 0u; g < n; ++g) {
        scores[g * chunk + jj] = qk[g] * p.scale;
        top[g] = max(top[g], qk[g] * p.scale);
      }
    }
    reduce_heads(top, n, true);
    float sum[ATT_GROUP], alpha[ATT_GROUP];
    for (uint g = 0u; g < ATT_GROUP; ++g) {
      sum[g] = 0.0;
      const float m_new = max(m[g], top[g]);
      alpha[g] = exp(m[g] - m_new);
      m[g] = m_new;
    }
    for (uint jj = lid; jj < count; jj += ATT_LOCAL) {
      for (uint g = 0u; g < n; ++g) {
        const float e = exp(scores[g * chunk + jj] - m[g]);
        scores[g * chunk + jj] = e;
        sum[g] += e;
      }
    }
    reduce_heads(sum, n, false);
    for (uint g = 0u; g < ATT_GROUP; ++g) {
      l[g] = l[g] * alpha[g] + sum[g];
      acc[g] *= alpha[g];
    }
    if (4u * quad < p.dv) {
      for (uint jj = phase; jj < count; jj += phases) {
        const vec4 vq = load_v_quad(v0 + (j0 + jj) * v_stride + 4u * quad, p.dv - 4u * quad);
        for (uint g = 0u; g < n; ++g) acc[g] += scores[g * chunk + jj] * vq;
      }
    }
    barrier();
  }
  for (uint g = 0u; g < n; ++g) {
    const uint o = ((phase * n + g) * quads + quad) * 4u;
    for (uint e = 0u; e < 4u; ++e) scores[o + e] = acc[g][e];
  }
  barrier();
  if (phase == 0u && 4u * quad < p.dv) {
    for (uint g = 0u; g < n; ++g) {
      vec4 total = vec4(0.0);
      for (uint ph = 0u; ph < phases; ++ph) {
        const uint o = ((ph * n + g) * quads + quad) * 4u;
        total += vec4(scores[o], scores[o + 1u], scores[o + 2u], scores[o + 3u]);
      }
      for (uint e = 0u; e < 4u && 4u * quad + e < p.dv; ++e) {
        STORE_FLOAT(result, (bi * p.heads + h0 + g) * p.dv + 4u * quad + e, p.dtype, total[e] / l[g]);
      }
    }
  }
}
#endif

#if defined(ARGMAX) || defined(TOPK)
#define SELECT_LOCAL 256
#define TOPK_MAX_K 1024
#define TOPK_RUN 8

layout(push_constant) uniform Params {
  uint rows, n, k, sort_size, dtype;
} p;

uint order_key(uint bits) {
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0xFFFFFFFFu;
  if (bits == 0x80000000u) bits = 0u;
  return (bits & 0x80000000u) != 0u ? ~bits : bits | 0x80000000u;
}

bool ranks_before(uint a, uint ia, uint b, uint ib) { return a > b || (a == b && ia < ib); }
#endif

#ifdef ARGMAX
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) writeonly buffer Out { int result[]; };

shared uint keys[SELECT_LOCAL];
shared uint idx[SELECT_LOCAL];

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x;
  uint best = 0u, best_i = 0xFFFFFFFFu;
  for (uint j = lid; j < p.n; j += SELECT_LOCAL) {
    const uint key = order_key(LOAD_FLOAT_BITS(x, row * p.n + j, p.dtype));
    if (key > best) {
      best = key;
      best_i = j;
    }
  }
  keys[lid] = best;
  idx[lid] = best_i;
  barrier();
  for (uint s = SELECT_LOCAL / 2u; s > 0u; s >>= 1) {
    if (lid < s && ranks_before(keys[lid + s], idx[lid + s], keys[lid], idx[lid])) {
      keys[lid] = keys[lid + s];
      idx[lid] = idx[lid + s];
    }
    barrier();
  }
  if (lid == 0u) result[row] = int(idx[0]);
}
#endif

#ifdef TOPK
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer Values { uint values[]; };
layout(std430, binding = 2) writeonly buffer Indices { int indices[]; };

shared uint hist[SELECT_LOCAL];
shared uint scan[SELECT_LOCAL];
shared uint sel_key[TOPK_MAX_K];
shared uint sel_idx[TOPK_MAX_K];
shared uint found[2];

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint base = row * p.n;
  uint prefix = 0u, mask = 0u, remaining = p.k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    hist[lid] = 0u;
    barrier();
    for (uint j = lid; j < p.n; j += SELECT_LOCAL) {
      const uint key = order_key(LOAD_FLOAT_BITS(x, base + j, p.dtype));
      if ((key & mask) == prefix) atomicAdd(hist[(key >> shift) & 0xFFu], 1u);
    }
    barrier();
    if (lid == 0u) {
      uint digit = 0xFFu, above = 0u;
      while (digit > 0u && above + hist[digit] < remaining) above += hist[digit--];
      found[0] = digit;
      found[1] = remaining - above;
    }
    barrier();
    prefix |= found[0] << shift;
    mask |= 0xFFu << shift;
    remaining = found[1];
  }
  const uint greater = p.k - remaining;
  uint gt_base = 0u, eq_base = 0u;
  for (uint c0 = 0u; c0 < p.n; c0 += SELECT_LOCAL * TOPK_RUN) {
    const uint first = c0 + lid * TOPK_RUN;
    uint keys[TOPK_RUN];
    uint gt = 0u, eq = 0u;
    for (uint e = 0u; e < TOPK_RUN; ++e) {
      keys[e] = first + e < p.n ? order_key(LOAD_FLOAT_BITS(x, base + first + e, p.dtype)) : 0u;
      gt += uint(first + e < p.n && keys[e] > prefix);
      eq += uint(first + e < p.n && keys[e] == prefix);
    }
    const uint counts = gt | (eq << 16);
    scan[lid] = counts;
    barrier();
    for (uint off = 1u; off < SELECT_LOCAL; off <<= 1) {
      const uint add = lid >= off ? scan[lid - off] : 0u;
      barrier();
      scan[lid] += add;
      barrier();
    }
    const uint before = scan[lid] - counts, total = scan[SELECT_LOCAL - 1];
    uint gt_slot = gt_base + (before & 0xFFFFu), eq_rank = eq_base + (before >> 16);
    for (uint e = 0u; e < TOPK_RUN && first + e < p.n; ++e) {
      if (keys[e] > prefix) {
        sel_key[gt_slot] = keys[e];
        sel_idx[gt_slot] = first + e;
        ++gt_slot;
      } else if (keys[e] == prefix) {
        if (eq_rank < remaining) {
          sel_key[greater + eq_rank] = keys[e];
          sel_idx[greater + eq_rank] = first + e;
        }
        ++eq_rank;
      }
    }
    gt_base += total & 0xFFFFu;
    eq_base += total >> 16;
    barrier();
    if (gt_base == greater && eq_base >= remaining) break;
  }
  for (uint t = p.k + lid; t < p.sort_size; t += SELECT_LOCAL) {
    sel_key[t] = 0u;
    sel_idx[t] = 0xFFFFFFFFu;
  }
  barrier();
  for (uint size = 2u; size <= p.sort_size; size <<= 1) {
    for (uint stride = size / 2u; stride > 0u; stride >>= 1) {
      for (uint t = lid; t < p.sort_size / 2u; t += SELECT_LOCAL) {
        const uint a = 2u * stride * (t / stride) + t % stride, b = a + stride;
        const bool forward = (a & size) == 0u;
        if (ranks_before(sel_key[b], sel_idx[b], sel_key[a], sel_idx[a]) == forward) {
          const uint ka = sel_key[a], ia = sel_idx[a];
          sel_key[a] = sel_key[b];
          sel_idx[a] = sel_idx[b];
          sel_key[b] = ka;
          sel_idx[b] = ia;
        }
      }
      barrier();
    }
  }
  for (uint t = lid; t < p.k; t += SELECT_LOCAL) {
    const uint src = base + sel_idx[t], dst = row * p.k + t;
    indices[dst] = int(sel_idx[t]);
    if (p.dtype == DT_F32) values[dst] = x[src];
    else STORE_HALF_ATOMIC(values, dst, WORD_HALF(x, src));
  }
}
#endif
