// Decode-step ops (runtime/ops/decode_*.cpp): kv_write, attention, argmax, topk. Per-step
// values (cache position, valid key count) come from int32 buffers, never from parameters, so
// a recorded plan replays unchanged from token to token. Float tensors are float32, f16 or
// bf16 (dtype parameter: DT_F32, DT_F16, DT_BF16), computed in float32.

// ---- kv_write ------------------------------------------------------------------------------

typedef struct {
  uint batches, max_len, n;
  uint row_elems;   // kv_heads * d
  uint elem_bytes;  // 4 or 2
  uint units;       // work-items per batch
} kv_write_params;

// A unit is one element (4-byte dtypes) or one destination word's pair of halves (2-byte
// dtypes), the same grid as shaders/decode.comp, which can only store words. Batch b's rows go
// to start[b]..; a range outside the cache writes nothing.
__kernel void kv_write(__global uchar* cache, __global const uchar* src, __global const int* start,
                       const kv_write_params p) {
  const uint id = flat_id();
  if (id >= p.batches * p.units) return;
  const uint b = id / p.units, t = id - b * p.units;
  const int s = start[b];
  if (s < 0 || s > (int)(p.max_len - p.n)) return;
  const uint count = p.n * p.row_elems;
  const uint dst0 = (b * p.max_len + (uint)s) * p.row_elems, src0 = b * count;
  if (p.elem_bytes == 4) {
    ((__global uint*)cache)[dst0 + t] = ((__global const uint*)src)[src0 + t];
    return;
  }
  for (uint e = 2 * (dst0 / 2 + t); e < 2 * (dst0 / 2 + t) + 2; ++e) {
    if (e >= dst0 && e < dst0 + count) ((__global ushort*)cache)[e] = ((__global const ushort*)src)[src0 + e - dst0];
  }
}

// ---- attention -----------------------------------------------------------------------------
// One workgroup of ATT_LOCAL work-items per (batch, query, KV head, group of up to ATT_GROUP
// query heads of that KV head): every K and V row is loaded once for all the heads of the group
// (grouped-query attention shares it 3 to 8 ways), four elements a load. Keys go in chunks whose
// scores (one key per work-item at a time, all heads) sit in local memory; an online softmax
// across chunks (running max m, sum l, accumulators rescaled by exp(m_old - m_new)) takes any
// number of keys. For the weighted sum of V rows, work-item t takes dims 4q..4q+3 (q = t mod Q,
// Q the least power of two with 4Q >= dv) of every (ATT_LOCAL / Q)-th key from key t / Q; the
// partial sums are added at the end. Local memory: 9 KB. d, dv <= ATT_MAX_D.
#define ATT_LOCAL 64
#define ATT_GROUP 4
#define ATT_SCORES 1024
#define ATT_MAX_D 256
// Below any score, yet exp(ATT_NO_SCORE - finite) is 0 with no inf - inf = NaN.
#define ATT_NO_SCORE -3.0e38f

typedef struct {
  uint batches, sq, heads, skmax, kv_heads, d, dv;
  uint causal;  // query i sees key j iff j <= i + kv_len - sq
  float scale;
  uint dtype;
} attention_params;

// Elements i .. i + 3 of a float tensor, those from `count` on read as 0.
inline float4 load_quad(__global const uchar* data, uint i, uint count, uint dtype) {
  if (count >= 4) {
    if (dtype == DT_F32) return vload4(0, (__global const float*)data + i);
    if (dtype == DT_F16) return vload_half4(0, (__global const half*)data + i);
    return as_float4(convert_uint4(vload4(0, (__global const ushort*)data + i)) << 16);
  }
  float4 r = (float4)(0.0f);
  if (count > 0) r.x = load_float(data, i, dtype);
  if (count > 1) r.y = load_float(data, i + 1, dtype);
  if (count > 2) r.z = load_float(data, i + 2, dtype);
  return r;
}

// For each of the `n` heads: the max (is_max) or the sum of v[g] over the workgroup, into v[g];
// one tree in `scratch` for all of them. Call from uniform control flow only.
inline void reduce_heads(__local float* scratch, float* v, uint n, int is_max) {
  const uint lid = get_local_id(0);
  for (uint g = 0; g < ATT_GROUP; ++g) scratch[g * ATT_LOCAL + lid] = v[g];
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = ATT_LOCAL / 2; s > 0; s >>= 1) {
    if (lid < s) {
      for (uint g = 0; g < n; ++g) {
        const float a = scratch[g * ATT_LOCAL + lid], b = scratch[g * ATT_LOCAL + lid + s];
        scratch[g * ATT_LOCAL + lid] = is_max ? fmax(a, b) : a + b;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (uint g = 0; g < ATT_GROUP; ++g) v[g] = scratch[g * ATT_LOCAL];
  barrier(CLK_LOCAL_MEM_FENCE);
}

__kernel void attention(__global const uchar* q, __global const uchar* k, __global const uchar* v,
                        __global const int* kv_len, __global uchar* out, const attention_params p) {
  __local float q_rows[ATT_GROUP * ATT_MAX_D];
  __local float scores[ATT_SCORES];  // [head][key of the chunk]; at the end, the partial sums
  __local float scratch[ATT_GROUP * ATT_LOCAL];
  const uint group_heads = p.heads / p.kv_heads, groups = (group_heads + ATT_GROUP - 1) / ATT_GROUP;
  const uint wg = flat_group_id();  // ((b * sq + i) * kv_heads + kvh) * groups + group
  if (wg >= p.batches * p.sq * p.kv_heads * groups) return;
  const uint lid = get_local_id(0);
  const uint group = wg % groups, kvh = wg / groups % p.kv_heads, bi = wg / groups / p.kv_heads;
  const uint b = bi / p.sq, i = bi % p.sq;
  const uint h0 = kvh * group_heads + group * ATT_GROUP, n = min((uint)ATT_GROUP, group_heads - group * ATT_GROUP);
  // kv_len comes from the device: clamped into the cache, never trusted to stay in bounds.
  const int len = clamp(kv_len[b], 0, (int)p.skmax);
  const uint limit = (uint)(p.causal ? clamp((int)i + len - (int)p.sq + 1, 0, len) : len);
  const uint k_stride = p.kv_heads * p.d, v_stride = p.kv_heads * p.dv;
  const uint k0 = b * p.skmax * k_stride + kvh * p.d, v0 = b * p.skmax * v_stride + kvh * p.dv;
  const uint d4 = (p.d + 3) / 4 * 4;  // q rows padded with zeros to whole quads
  for (uint t = lid; t < n * d4; t += ATT_LOCAL) {
    const uint g = t / d4, c = t % d4;
    q_rows[g * ATT_MAX_D + c] = c < p.d ? load_float(q, (bi * p.heads + h0 + g) * p.d + c, p.dtype) : 0.0f;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  uint quads = 1;  // Q: work-items per V row
  while (4 * quads < p.dv) quads *= 2;
  const uint quad = lid % quads, phase = lid / quads, phases = ATT_LOCAL / quads;
  const uint chunk = ATT_SCORES / n;
  float m[ATT_GROUP], l[ATT_GROUP];
  float4 acc[ATT_GROUP];
  for (uint g = 0; g < ATT_GROUP; ++g) m[g] = ATT_NO_SCORE, l[g] = 0.0f, acc[g] = (float4)(0.0f);
  for (uint j0 = 0; j0 < limit; j0 += chunk) {
    const uint count = min(chunk, limit - j0);
    float top[ATT_GROUP];
    for (uint g = 0; g < ATT_GROUP; ++g) top[g] = ATT_NO_SCORE;
    for (uint jj = lid; jj < count; jj += ATT_LOCAL) {
      const uint row = k0 + (j0 + jj) * k_stride;
      float qk[ATT_GROUP];
      for (uint g = 0; g < ATT_GROUP; ++g) qk[g] = 0.0f;
      for (uint c = 0; c < p.d; c += 4) {
        const float4 kq = load_quad(k, row + c, p.d - c, p.dtype);
        for (uint g = 0; g < n; ++g) qk[g] += dot(vload4(0, q_rows + g * ATT_MAX_D + c), kq);
      }
      for (uint g = 0; g < n; ++g) {
        scores[g * chunk + jj] = qk[g] * p.scale;
        top[g] = fmax(top[g], qk[g] * p.scale);
      }
    }
    reduce_heads(scratch, top, n, 1);  // its barriers publish scores[]
    float sum[ATT_GROUP], alpha[ATT_GROUP];
    for (uint g = 0; g < ATT_GROUP; ++g) {
      sum[g] = 0.0f;
      const float m_new = fmax(m[g], top[g]);
      alpha[g] = exp(m[g] - m_new);
      m[g] = m_new;
    }
    for (uint jj = lid; jj < count; jj += ATT_LOCAL) {  // each work-item rewrites its own scores
      for (uint g = 0; g < n; ++g) {
        const float e = exp(scores[g * chunk + jj] - m[g]);
        scores[g * chunk + jj] = e;
        sum[g] += e;
      }
    }
    reduce_heads(scratch, sum, n, 0);  // its barriers publish the weights
    for (uint g = 0; g < ATT_GROUP; ++g) l[g] = l[g] * alpha[g] + sum[g], acc[g] *= alpha[g];
    if (4 * quad < p.dv) {
      for (uint jj = phase; jj < count; jj += phases) {
        const float4 vq = load_quad(v, v0 + (j0 + jj) * v_stride + 4 * quad, p.dv - 4 * quad, p.dtype);
        for (uint g = 0; g < n; ++g) acc[g] += scores[g * chunk + jj] * vq;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // everyone has read scores[] before it is rewritten
  }
  // The partial sums of the phases, [phase][head][quad] in scores[], added up by phase 0.
  for (uint g = 0; g < n; ++g) vstore4(acc[g], 0, scores + ((phase * n + g) * quads + quad) * 4);
  barrier(CLK_LOCAL_MEM_FENCE);
  if (phase == 0 && 4 * quad < p.dv) {
    for (uint g = 0; g < n; ++g) {
      float4 total = (float4)(0.0f);
      for (uint ph = 0; ph < phases; ++ph) total += vload4(0, scores + ((ph * n + g) * quads + quad) * 4);
      const float r[4] = {total.x, total.y, total.z, total.w};
      for (uint e = 0; e < 4 && 4 * quad + e < p.dv; ++e) {
        store_float(out, (bi * p.heads + h0 + g) * p.dv + 4 * quad + e, p.dtype, r[e] / l[g]);
      }
    }
  }
}

// ---- argmax, topk --------------------------------------------------------------------------
// One workgroup of SELECT_LOCAL work-items per row. Elements are compared by order keys: uints
// that sort as the floats do, with -0 as +0 and every NaN above +inf (torch's order); ties go to
// the lower index. No float comparison decides anything, so both APIs and the host agree.
#define SELECT_LOCAL 256
#define TOPK_MAX_K 1024
#define TOPK_RUN 8

typedef struct {
  uint rows, n, k;
  uint sort_size;  // topk: k rounded up to a power of two
  uint dtype;
} select_params;

inline uint order_key(uint bits) {
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0xFFFFFFFFu;
  if (bits == 0x80000000u) bits = 0u;
  return (bits & 0x80000000u) != 0u ? ~bits : bits | 0x80000000u;
}

// (key a, index ia) comes before (key b, index ib).
inline bool ranks_before(uint a, uint ia, uint b, uint ib) { return a > b || (a == b && ia < ib); }

__kernel void argmax(__global const uchar* x, __global int* out, const select_params p) {
  __local uint keys[SELECT_LOCAL];
  __local uint idx[SELECT_LOCAL];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0);
  // Key 0 with the largest index loses to every element (real keys are >= the key of -inf).
  uint best = 0u, best_i = 0xFFFFFFFFu;
  for (uint j = lid; j < p.n; j += SELECT_LOCAL) {
    const uint key = order_key(load_float_bits(x, row * p.n + j, p.dtype));
    if (key > best) {  // j only grows: the first of equal keys stays
      best = key;
      best_i = j;
    }
  }
  keys[lid] = best;
  idx[lid] = best_i;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = SELECT_LOCAL / 2; s > 0; s >>= 1) {
    if (lid < s && ranks_before(keys[lid + s], idx[lid + s], keys[lid], idx[lid])) {
      keys[lid] = keys[lid + s];
      idx[lid] = idx[lid + s];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) out[row] = (int)idx[0];
}

// topk: a radix select finds the key T of the k-th ranked element, 8 bits a pass from the top,
// by histograms of the elements that match the digits found so far; `remaining` says how many
// elements equal to T belong to the top k. A compaction pass (workgroup prefix sums, in index
// order, TOPK_RUN elements a work-item) then gathers every element above T and the first
// `remaining` equal to T, and a bitonic sort orders those k by rank. Local memory: 10 KB.
__kernel void topk(__global const uchar* x, __global uchar* values, __global int* indices, const select_params p) {
  __local uint hist[SELECT_LOCAL];  // one bin per digit value: SELECT_LOCAL == 256
  __local uint scan[SELECT_LOCAL];
  __local uint sel_key[TOPK_MAX_K];
  __local uint sel_idx[TOPK_MAX_K];
  __local uint found[2];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0);
  const uint base = row * p.n;
  uint prefix = 0u, mask = 0u, remaining = p.k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    hist[lid] = 0u;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint j = lid; j < p.n; j += SELECT_LOCAL) {
      const uint key = order_key(load_float_bits(x, base + j, p.dtype));
      if ((key & mask) == prefix) atomic_inc(&hist[(key >> shift) & 0xFFu]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {  // the digit holding the remaining-th largest matching key
      uint digit = 0xFFu, above = 0u;
      while (digit > 0u && above + hist[digit] < remaining) above += hist[digit--];
      found[0] = digit;
      found[1] = remaining - above;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    prefix |= found[0] << shift;
    mask |= 0xFFu << shift;
    remaining = found[1];
  }
  const uint greater = p.k - remaining;  // elements above T, all in the top k
  uint gt_base = 0u, eq_base = 0u;
  for (uint c0 = 0; c0 < p.n; c0 += SELECT_LOCAL * TOPK_RUN) {  // work-item t takes TOPK_RUN elements in a row
    const uint first = c0 + lid * TOPK_RUN;
    uint keys[TOPK_RUN];
    uint gt = 0u, eq = 0u;
    for (uint e = 0; e < TOPK_RUN; ++e) {
      keys[e] = first + e < p.n ? order_key(load_float_bits(x, base + first + e, p.dtype)) : 0u;
      gt += first + e < p.n && keys[e] > prefix;
      eq += first + e < p.n && keys[e] == prefix;
    }
    const uint counts = gt | (eq << 16);  // two counts of at most SELECT_LOCAL * TOPK_RUN in one word
    scan[lid] = counts;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint off = 1; off < SELECT_LOCAL; off <<= 1) {  // inclusive prefix sum (Hillis-Steele)
      const uint add = lid >= off ? scan[lid - off] : 0u;
      barrier(CLK_LOCAL_MEM_FENCE);
      scan[lid] += add;
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    const uint before = scan[lid] - counts, total = scan[SELECT_LOCAL - 1];
    uint gt_slot = gt_base + (before & 0xFFFFu), eq_rank = eq_base + (before >> 16);
    for (uint e = 0; e < TOPK_RUN && first + e < p.n; ++e) {
      if (keys[e] > prefix) {
        sel_key[gt_slot] = keys[e];
        sel_idx[gt_slot++] = first + e;
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
    barrier(CLK_LOCAL_MEM_FENCE);                       // scan[] is rewritten next
    if (gt_base == greater && eq_base >= remaining) break;  // the same for every work-item
  }
  for (uint t = p.k + lid; t < p.sort_size; t += SELECT_LOCAL) {  // padding ranks last
    sel_key[t] = 0u;
    sel_idx[t] = 0xFFFFFFFFu;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint size = 2; size <= p.sort_size; size <<= 1) {
    for (uint stride = size / 2; stride > 0; stride >>= 1) {
      for (uint t = lid; t < p.sort_size / 2; t += SELECT_LOCAL) {
        const uint a = 2 * stride * (t / stride) + t % stride, b = a + stride;
        const bool forward = (a & size) == 0u;
        if (ranks_before(sel_key[b], sel_idx[b], sel_key[a], sel_idx[a]) == forward) {
          const uint ka = sel_key[a], ia = sel_idx[a];
          sel_key[a] = sel_key[b];
          sel_idx[a] = sel_idx[b];
          sel_key[b] = ka;
          sel_idx[b] = ia;
        }
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
  // Values are the elements' own bytes, copied byte by byte: pocl 3.1 miscompiles a branch on
  // the element size here into writes past the end of `values`.
  const uint es = p.dtype == DT_F32 ? 4u : 2u;
  for (uint t = lid; t < p.k; t += SELECT_LOCAL) {
    indices[row * p.k + t] = (int)sel_idx[t];
    for (uint e = 0; e < es; ++e) values[(row * p.k + t) * es + e] = x[(base + sel_idx[t]) * es + e];
  }
}
