#version 450
// Attention pieces on float32/float16/bfloat16; the mirror of cl/attention.cl (same bindings
// and parameters, same algorithms: see the comments there). 16-bit outputs are stored with
// STORE_FLOAT: neighbouring elements belong to other invocations.
//! variant rope -DROPE
//! variant rope_kv_write -DROPE_KV_WRITE
//! variant sdpa -DSDPA
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#if defined(ROPE) || defined(ROPE_KV_WRITE)
#include "rope.glsl"

// One invocation's share of a rope row whose elements start at src in `from` and at dst in `to`: the
// pair (t, t + half) rotated by position · inv (inv is evaluated only then), else the
// pass-through dim t + half. A macro: GLSL functions cannot take buffers.
#define ROPE_UNIT(from, src, to, dst, t, position, inv, half_dim, dtype, neg_wrap)                            \
  do {                                                                                                   \
    if ((t) >= (half_dim)) {                                                                             \
      STORE_FLOAT(to, (dst) + (t) + (half_dim), dtype, LOAD_FLOAT(from, (src) + (t) + (half_dim), dtype));  \
    } else {                                                                                             \
      const float angle_ = rope_angle(position, inv);                                                    \
      const vec2 rotated_ = rope_rotate(LOAD_FLOAT(from, (src) + (t), dtype),                               \
                                        LOAD_FLOAT(from, (src) + (t) + (half_dim), dtype), angle_, dtype, neg_wrap); \
      STORE_FLOAT(to, (dst) + (t), dtype, rotated_.x);                                                  \
      STORE_FLOAT(to, (dst) + (t) + (half_dim), dtype, rotated_.y);                                     \
    }                                                                                                    \
  } while (false)
#endif

#ifdef ROPE
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer Pos { int positions[]; };
layout(std430, binding = 2) readonly buffer Inv { float inv_freq[]; };
layout(std430, binding = 3) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint rows, heads, head_dim, half_dim, has_inv_freq;
  float log2_theta;
  uint dtype;
  float neg_wrap;  // -128 · scale of quanto's int8 q/k, whose rotate_half leaves it unnegated; 0: off
} p;

void main() {
  const uint id = flat_id();
  const uint per_row = p.head_dim - p.half_dim;
  if (id >= p.rows * per_row) return;
  const uint row = id / per_row, t = id - row * per_row;
  const uint base = row * p.head_dim;
  ROPE_UNIT(x, base, result, base, t, positions[row / p.heads],
            p.has_inv_freq != 0u ? inv_freq[t] : exp2(-(float(2u * t) / float(2u * p.half_dim)) * p.log2_theta),
            p.half_dim, p.dtype, p.neg_wrap);
}
#endif

#ifdef ROPE_KV_WRITE
layout(std430, binding = 0) readonly buffer Qkv { uint qkv[]; };
layout(std430, binding = 1) readonly buffer Pos { int positions[]; };
layout(std430, binding = 2) readonly buffer Inv { float inv_freq[]; };
layout(std430, binding = 3) readonly buffer Start { int start[]; };
layout(std430, binding = 4) buffer Q { uint q[]; };
layout(std430, binding = 5) buffer KCache { uint k_cache[]; };
layout(std430, binding = 6) buffer VCache { uint v_cache[]; };
layout(push_constant) uniform Params {
  uint n, q_heads, kv_heads, head_dim, half_dim, max_len, dtype;
  uint q_units, k_units, v_units;
} p;

void main() {
  const uint id = flat_id();
  const uint heads = p.q_heads + 2u * p.kv_heads, per_head = p.head_dim - p.half_dim;
  if (id < p.q_units) {
    const uint row = id / per_head, token = row / p.q_heads, t = id % per_head;
    ROPE_UNIT(qkv, (token * heads + row % p.q_heads) * p.head_dim, q, row * p.head_dim, t, positions[token],
              inv_freq[t], p.half_dim, p.dtype, 0.0);
    return;
  }
  const int s = start[0];
  if (s < 0 || s > int(p.max_len - p.n)) return;
  if (id < p.q_units + p.k_units) {
    const uint j = id - p.q_units, row = j / per_head, token = row / p.kv_heads, t = j % per_head;
    ROPE_UNIT(qkv, (token * heads + p.q_heads + row % p.kv_heads) * p.head_dim, k_cache,
              ((uint(s) + token) * p.kv_heads + row % p.kv_heads) * p.head_dim, t, positions[token], inv_freq[t],
              p.half_dim, p.dtype, 0.0);
    return;
  }
  const uint j = id - p.q_units - p.k_units;
  if (j >= p.v_units) return;
  const uint row_elems = p.kv_heads * p.head_dim, token = j / row_elems, e = j % row_elems;
  const uint src = (token * heads + p.q_heads + p.kv_heads) * p.head_dim + e, dst = (uint(s) + token) * row_elems + e;
  if (p.dtype == DT_F32) {
    v_cache[dst] = qkv[src];
  } else {
    STORE_HALF_ATOMIC(v_cache, dst, WORD_HALF(qkv, src));  // v's bytes: NaN payloads stay
  }
}
#endif

#ifdef SDPA
// One workgroup per (head, query row), scores of up to SDPA_CHUNK keys in shared memory, an
// online softmax across chunks; see cl/attention.cl.
#define SDPA_LOCAL 64
#define SDPA_CHUNK 1024
#define SDPA_MAX_D 256
#define SDPA_ACC 4  // SDPA_MAX_D / SDPA_LOCAL
#define SDPA_NO_SCORE -3.0e38
#define REDUCE_LOCAL_MAX SDPA_LOCAL
#include "nn_reduce.glsl"

layout(std430, binding = 0) readonly buffer Q { uint q[]; };
layout(std430, binding = 1) readonly buffer K { uint k[]; };
layout(std430, binding = 2) readonly buffer V { uint v[]; };
layout(std430, binding = 3) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint heads, kv_heads, sq, sk, d, dv, causal;
  float scale;
  uint dtype;
} p;

shared float q_row[SDPA_MAX_D];
shared float scores[SDPA_CHUNK];

void main() {
  const uint row = flat_group_id();
  if (row >= p.heads * p.sq) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint i = row % p.sq;
  const uint kv = (row / p.sq) / (p.heads / p.kv_heads);
  const uint kh = kv * p.sk * p.d, vh = kv * p.sk * p.dv;
  for (uint c = lid; c < p.d; c += SDPA_LOCAL) q_row[c] = LOAD_FLOAT(q, row * p.d + c, p.dtype);
  barrier();
  const uint limit = p.causal != 0u ? min(p.sk, i + (p.sk - p.sq) + 1u) : p.sk;
  float m = SDPA_NO_SCORE, l = 0.0;
  float acc[SDPA_ACC];
  for (uint r = 0u; r < SDPA_ACC; ++r) acc[r] = 0.0;
  for (uint j0 = 0u; j0 < limit; j0 += SDPA_CHUNK) {
    const uint count = min(uint(SDPA_CHUNK), limit - j0);
    float chunk_max = SDPA_NO_SCORE;
    for (uint jj = lid; jj < count; jj += SDPA_LOCAL) {
      const uint kr = kh + (j0 + jj) * p.d;
      float dot = 0.0;
      for (uint c = 0u; c < p.d; ++c) dot += q_row[c] * LOAD_FLOAT(k, kr + c, p.dtype);
      scores[jj] = dot * p.scale;
      chunk_max = max(chunk_max, dot * p.scale);
    }
    const float m_new = max(m, workgroup_reduce(chunk_max, true));
    float chunk_sum = 0.0;
    for (uint jj = lid; jj < count; jj += SDPA_LOCAL) {  // each invocation rewrites its own scores
      const float e = exp(scores[jj] - m_new);
      scores[jj] = e;
      chunk_sum += e;
    }
    const float alpha = exp(m - m_new);
    l = l * alpha + workgroup_reduce(chunk_sum, false);  // its barriers publish scores[]
    m = m_new;
    for (uint r = 0u; r < SDPA_ACC; ++r) acc[r] *= alpha;
    for (uint jj = 0u; jj < count; ++jj) {
      const float w = scores[jj];
      const uint vr = vh + (j0 + jj) * p.dv;
      for (uint r = 0u; r < SDPA_ACC; ++r) {
        const uint c = lid + r * SDPA_LOCAL;
        if (c < p.dv) acc[r] += w * LOAD_FLOAT(v, vr + c, p.dtype);
      }
    }
    barrier();  // everyone has read scores[] before the next chunk rewrites it
  }
  for (uint r = 0u; r < SDPA_ACC; ++r) {
    const uint c = lid + r * SDPA_LOCAL;
    if (c < p.dv) STORE_FLOAT(result, row * p.dv + c, p.dtype, acc[r] / l);
  }
}
#endif
