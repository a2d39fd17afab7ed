// Row-wise ops over the last dim (runtime/ops/nn_norm.cpp) on float32/float16/bfloat16 rows,
// computed in float32: one workgroup per row; each work-item walks the row with a stride of the
// workgroup size, then a tree in local memory combines the partial results (workgroup_reduce in
// common.cl, no subgroups). The workgroup size is a power of two <= 128.

#define ROW_LOCAL_MAX 128

typedef struct {
  uint rows, dim;
  uint mode;      // 0 layernorm, 1 rmsnorm
  uint has_bias;  // layernorm only
  float eps;
  uint dtype;         // of x and the output (DT_*)
  uint weight_dtype;  // of weight
  uint bias_dtype;    // of bias
} norm_params;

// LlamaRMSNorm's output: the normalized value rounded into x's dtype, then times the weight.
inline void store_rms_output(__global uchar* out, __global const uchar* weight, uint i, uint base, float v, float inv,
                             const norm_params* p) {
  const float normed = as_float(round_bits_to_dtype(as_uint(v * inv), p->dtype));
  store_float(out, base + i, p->dtype, normed * load_float(weight, i, p->weight_dtype));
}

// layernorm subtracts the mean in a first pass, so the variance is a sum of squares of
// centred values (no cancellation); rmsnorm skips that pass and, as transformers' LlamaRMSNorm,
// rounds the normalized value into x's dtype before the weight multiplies it.
__kernel void norm_rows(__global const uchar* x, __global const uchar* weight, __global const uchar* bias,
                        __global uchar* out, const norm_params p) {
  __local float scratch[ROW_LOCAL_MAX];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0), step = get_local_size(0), base = row * p.dim;
  float mean = 0.0f;
  if (p.mode == 0) {  // uniform across the workgroup, so the barriers inside are legal
    float s = 0.0f;
    for (uint i = lid; i < p.dim; i += step) s += load_float(x, base + i, p.dtype);
    mean = workgroup_reduce(scratch, s, 0) / (float)p.dim;
  }
  float ss = 0.0f;
  for (uint i = lid; i < p.dim; i += step) {
    const float c = load_float(x, base + i, p.dtype) - mean;
    ss += c * c;
  }
  const float inv = rsqrt(workgroup_reduce(scratch, ss, 0) / (float)p.dim + p.eps);
  // One loop per case rather than branches inside one: with a branch on has_bias inside the
  // loop, pocl 3.1 miscompiled this kernel so that every work-item wrote yr[lid], past the row
  // end when dim is smaller than the workgroup (the conformance guard bytes caught it).
  if (p.mode == 1) {
    for (uint i = lid; i < p.dim; i += step) store_rms_output(out, weight, i, base, load_float(x, base + i, p.dtype), inv, &p);
  } else if (p.has_bias) {
    for (uint i = lid; i < p.dim; i += step) {
      const float v = (load_float(x, base + i, p.dtype) - mean) * inv * load_float(weight, i, p.weight_dtype);
      store_float(out, base + i, p.dtype, v + load_float(bias, i, p.bias_dtype));
    }
  } else {
    for (uint i = lid; i < p.dim; i += step) {
      store_float(out, base + i, p.dtype, (load_float(x, base + i, p.dtype) - mean) * inv * load_float(weight, i, p.weight_dtype));
    }
  }
}

// add_rmsnorm: h = x + r rounded into the dtype, stored, and rmsnorm of it (mode and bias of
// the parameters unused). Each work-item forms its own elements of h again in the second pass
// (the same rounding), so no work-item reads what another wrote.
inline float rounded_sum(__global const uchar* x, __global const uchar* r, uint i, uint dtype) {
  return as_float(round_bits_to_dtype(as_uint(load_float(x, i, dtype) + load_float(r, i, dtype)), dtype));
}

__kernel void add_rmsnorm_rows(__global const uchar* x, __global const uchar* r, __global const uchar* weight,
                               __global uchar* h, __global uchar* out, const norm_params p) {
  __local float scratch[ROW_LOCAL_MAX];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0), step = get_local_size(0), base = row * p.dim;
  float ss = 0.0f;
  for (uint i = lid; i < p.dim; i += step) {
    const float v = rounded_sum(x, r, base + i, p.dtype);
    ss += v * v;
  }
  const float inv = rsqrt(workgroup_reduce(scratch, ss, 0) / (float)p.dim + p.eps);
  for (uint i = lid; i < p.dim; i += step) {
    const float v = rounded_sum(x, r, base + i, p.dtype);
    store_float(h, base + i, p.dtype, v);
    store_rms_output(out, weight, i, base, v, inv, &p);
  }
}

typedef struct {
  uint rows, dim;
  uint dtype;  // of x and the output
} softmax_params;

// Three passes: the row max, the sum of exp(x - max), then exp(x - max) / sum again (the output
// may be 16-bit: it cannot hold the exponentials in between).
__kernel void softmax_rows(__global const uchar* x, __global uchar* out, const softmax_params p) {
  __local float scratch[ROW_LOCAL_MAX];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0), step = get_local_size(0), base = row * p.dim;
  float m = -INFINITY;
  for (uint i = lid; i < p.dim; i += step) m = fmax(m, load_float(x, base + i, p.dtype));
  m = workgroup_reduce(scratch, m, 1);
  float s = 0.0f;
  for (uint i = lid; i < p.dim; i += step) s += exp(load_float(x, base + i, p.dtype) - m);
  const float total = workgroup_reduce(scratch, s, 0);
  for (uint i = lid; i < p.dim; i += step) store_float(out, base + i, p.dtype, exp(load_float(x, base + i, p.dtype) - m) / total);
}
