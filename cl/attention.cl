// Attention pieces on float32/float16/bfloat16, computed in float32, the output in the input's
// dtype (runtime/ops/nn_attention.cpp): rope and sdpa; and rope_kv_write, the decode family's
// rope with the KV cache write (runtime/ops/decode_rope_kv_write.cpp).

typedef struct {
  uint rows;          // seq * heads
  uint heads, head_dim;
  uint half_dim;      // rotary_dim / 2
  uint has_inv_freq;  // 1: inv_freq[half] is bound; 0: 2^(-(2i / rotary_dim) * log2(theta))
  float log2_theta;
  uint dtype;         // of x and the output (DT_*)
  float neg_wrap;     // -128 · scale of quanto's int8 q/k, whose rotate_half leaves it unnegated; 0: off
} rope_params;

// One work-item's share of a rope row whose elements start at src in x and at dst in out: the
// rotated pair (t, t + half) for t < half, else the pass-through dim t + half.
inline void rope_unit(__global const uchar* x, uint src, __global uchar* out, uint dst, uint t, int position,
                      __global const float* inv_freq, uint has_inv_freq, uint half_dim, float log2_theta, uint dtype,
                      float neg_wrap) {
  if (t >= half_dim) {
    store_float(out, dst + t + half_dim, dtype, load_float(x, src + t + half_dim, dtype));
    return;
  }
  const float inv = has_inv_freq ? inv_freq[t] : exp2(-((float)(2 * t) / (float)(2 * half_dim)) * log2_theta);
  const float2 sc = accurate_sincos(rope_angle(position, inv));
  const float a = load_float(x, src + t, dtype), b = load_float(x, src + t + half_dim, dtype);
  const float minus_b = neg_wrap != 0.0f && b == neg_wrap ? b : -b;
  if (dtype == DT_F32) {
    const float2 rotated = rope_rotated_f32(a, minus_b, b, sc);
    store_float(out, dst + t, dtype, rotated.x);
    store_float(out, dst + t + half_dim, dtype, rotated.y);
    return;
  }
  {
    // float16/bfloat16 as transformers: cos/sin cast to the dtype, each product rounded to it.
#pragma OPENCL FP_CONTRACT OFF
    const float c = as_float(round_bits_to_dtype(as_uint(sc.y), dtype)), s = as_float(round_bits_to_dtype(as_uint(sc.x), dtype));
    const float p1 = as_float(round_bits_to_dtype(as_uint(a * c), dtype));
    const float p2 = as_float(round_bits_to_dtype(as_uint(minus_b * s), dtype));
    const float p3 = as_float(round_bits_to_dtype(as_uint(b * c), dtype));
    const float p4 = as_float(round_bits_to_dtype(as_uint(a * s), dtype));
    store_float(out, dst + t, dtype, p1 + p2);
    store_float(out, dst + t + half_dim, dtype, p3 + p4);
  }
}

// One work-item per rotated pair (i, i + half), or per pass-through dim (from rotary_dim on):
// head_dim - half items a row.
__kernel void rope(__global const uchar* x, __global const int* positions, __global const float* inv_freq,
                   __global uchar* out, const rope_params p) {
  const uint id = flat_id();
  const uint per_row = p.head_dim - p.half_dim;
  if (id >= p.rows * per_row) return;
  const uint row = id / per_row, base = row * p.head_dim;
  rope_unit(x, base, out, base, id - row * per_row, positions[row / p.heads], inv_freq, p.has_inv_freq, p.half_dim,
            p.log2_theta, p.dtype, p.neg_wrap);
}

// ---- rope_kv_write (runtime/ops/decode_rope_kv_write.cpp) --------------------------------

typedef struct {
  uint n, q_heads, kv_heads, head_dim, half_dim, max_len, dtype;
  uint q_units, k_units, v_units;  // work-items: q rotations, then k rotations, then v elements
} rope_kv_write_params;

// Work-items [0, q_units) rotate q into `q`, the next k_units rotate k into the cache rows from
// start, the last v_units copy v's elements (as bytes) there; no cache row is written when the
// block would leave the cache.
__kernel void rope_kv_write(__global const uchar* qkv, __global const int* positions, __global const float* inv_freq,
                            __global const int* start, __global uchar* q, __global uchar* k_cache, __global uchar* v_cache,
                            const rope_kv_write_params p) {
  const uint id = flat_id();
  const uint heads = p.q_heads + 2 * p.kv_heads, per_head = p.head_dim - p.half_dim;
  if (id < p.q_units) {
    const uint row = id / per_head, token = row / p.q_heads;
    rope_unit(qkv, (token * heads + row % p.q_heads) * p.head_dim, q, row * p.head_dim, id % per_head, positions[token],
              inv_freq, 1, p.half_dim, 0.0f, p.dtype, 0.0f);
    return;
  }
  const int s = start[0];
  if (s < 0 || s > (int)(p.max_len - p.n)) return;
  if (id < p.q_units + p.k_units) {
    const uint j = id - p.q_units, row = j / per_head, token = row / p.kv_heads, head = row % p.kv_heads;
    rope_unit(qkv, (token * heads + p.q_heads + head) * p.head_dim, k_cache,
              (((uint)s + token) * p.kv_heads + head) * p.head_dim, j % per_head, positions[token], inv_freq, 1,
              p.half_dim, 0.0f, p.dtype, 0.0f);
    return;
  }
  const uint j = id - p.q_units - p.k_units;
  if (j >= p.v_units) return;
  const uint row_elems = p.kv_heads * p.head_dim, token = j / row_elems, e = j % row_elems;
  const uint src = (token * heads + p.q_heads + p.kv_heads) * p.head_dim + e, dst = ((uint)s + token) * row_elems + e;
  if (p.dtype == DT_F32) {
    ((__global uint*)v_cache)[dst] = ((__global const uint*)qkv)[src];
  } else {
    ((__global ushort*)v_cache)[dst] = ((__global const ushort*)qkv)[src];
  }
}

// sdpa: one workgroup of SDPA_LOCAL work-items per (head, query row). Keys go in chunks of up
// to SDPA_CHUNK whose scores (dot products over d, one key per work-item at a time) sit in local
// memory; across chunks an online softmax rescales the running max m, sum l and accumulators
// by exp(m_old - m_new). So sk is unbounded, and a row of up to SDPA_CHUNK keys costs three
// workgroup reductions. Work-item t accumulates output dims t, t + SDPA_LOCAL, ...
// (dv <= SDPA_MAX_D). Local memory: 5.3 KB.
#define SDPA_LOCAL 64
#define SDPA_CHUNK 1024
#define SDPA_MAX_D 256
#define SDPA_ACC (SDPA_MAX_D / SDPA_LOCAL)
// Below any score, yet exp(SDPA_NO_SCORE - finite) is 0 with no inf - inf = NaN.
#define SDPA_NO_SCORE -3.0e38f

typedef struct {
  uint heads, kv_heads, sq, sk, d, dv;
  uint causal;  // key j of query i is masked when j > i + (sk - sq)
  float scale;
  uint dtype;   // of q, k, v and the output (DT_*)
} sdpa_params;

__kernel void sdpa(__global const uchar* q, __global const uchar* k, __global const uchar* v, __global uchar* out,
                   const sdpa_params p) {
  __local float q_row[SDPA_MAX_D];
  __local float scores[SDPA_CHUNK];
  __local float scratch[SDPA_LOCAL];
  const uint row = flat_group_id();
  if (row >= p.heads * p.sq) return;
  const uint lid = get_local_id(0);
  const uint i = row % p.sq;
  const uint kv = (row / p.sq) / (p.heads / p.kv_heads);
  const uint kh = kv * p.sk * p.d, vh = kv * p.sk * p.dv;
  for (uint c = lid; c < p.d; c += SDPA_LOCAL) q_row[c] = load_float(q, row * p.d + c, p.dtype);
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint limit = p.causal ? min(p.sk, i + (p.sk - p.sq) + 1) : p.sk;
  float m = SDPA_NO_SCORE, l = 0.0f;
  float acc[SDPA_ACC];
  for (uint r = 0; r < SDPA_ACC; ++r) acc[r] = 0.0f;
  for (uint j0 = 0; j0 < limit; j0 += SDPA_CHUNK) {
    const uint count = min((uint)SDPA_CHUNK, limit - j0);
    float chunk_max = SDPA_NO_SCORE;
    for (uint jj = lid; jj < count; jj += SDPA_LOCAL) {
      const uint kr = kh + (j0 + jj) * p.d;
      float dot = 0.0f;
      for (uint c = 0; c < p.d; ++c) dot += q_row[c] * load_float(k, kr + c, p.dtype);
      scores[jj] = dot * p.scale;
      chunk_max = fmax(chunk_max, dot * p.scale);
    }
    const float m_new = fmax(m, workgroup_reduce(scratch, chunk_max, 1));
    float chunk_sum = 0.0f;
    for (uint jj = lid; jj < count; jj += SDPA_LOCAL) {  // each work-item rewrites its own scores
      const float e = exp(scores[jj] - m_new);
      scores[jj] = e;
      chunk_sum += e;
    }
    const float alpha = exp(m - m_new);
    l = l * alpha + workgroup_reduce(scratch, chunk_sum, 0);  // its barriers publish scores[]
    m = m_new;
    for (uint r = 0; r < SDPA_ACC; ++r) acc[r] *= alpha;
    for (uint jj = 0; jj < count; ++jj) {
      const float w = scores[jj];
      const uint vr = vh + (j0 + jj) * p.dv;
      for (uint r = 0; r < SDPA_ACC; ++r) {
        const uint c = lid + r * SDPA_LOCAL;
        if (c < p.dv) acc[r] += w * load_float(v, vr + c, p.dtype);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // everyone has read scores[] before the next chunk rewrites it
  }
  for (uint r = 0; r < SDPA_ACC; ++r) {
    const uint c = lid + r * SDPA_LOCAL;
    if (c < p.dv) store_float(out, row * p.dv + c, p.dtype, acc[r] / l);
  }
}
