// Row-wise ops over the last dim (runtime/ops/nn_norm.cpp): one workgroup per row; each
// work-item walks the row with a stride of the workgroup size, then a tree in local memory
// combines the partial results (workgroup_reduce in common.cl, no subgroups). The workgroup size
// is a power of two <= 128.

#define ROW_LOCAL_MAX 128

typedef struct {
  uint rows, dim;
  uint mode;      // 0 layernorm, 1 rmsnorm
  uint has_bias;  // layernorm only
  float eps;
} norm_params;

// layernorm subtracts the mean in a first pass, so the variance is a sum of squares of
// centred values (no cancellation); rmsnorm skips that pass.
__kernel void norm_rows_f32(__global const float* x, __global const float* weight, __global const float* bias,
                            __global float* out, const norm_params p) {
  __local float scratch[ROW_LOCAL_MAX];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0), step = get_local_size(0);
  __global const float* xr = x + row * p.dim;
  float mean = 0.0f;
  if (p.mode == 0) {  // uniform across the workgroup, so the barriers inside are legal
    float s = 0.0f;
    for (uint i = lid; i < p.dim; i += step) s += xr[i];
    mean = workgroup_reduce(scratch, s, 0) / (float)p.dim;
  }
  float ss = 0.0f;
  for (uint i = lid; i < p.dim; i += step) ss += (xr[i] - mean) * (xr[i] - mean);
  const float inv = rsqrt(workgroup_reduce(scratch, ss, 0) / (float)p.dim + p.eps);
  // Two loops rather than a branch on has_bias inside one: with the branch inside, pocl 3.1
  // miscompiled this kernel so that every work-item wrote yr[lid], past the row end when dim is
  // smaller than the workgroup (the conformance guard bytes caught it).
  __global float* yr = out + row * p.dim;
  if (p.has_bias) {
    for (uint i = lid; i < p.dim; i += step) yr[i] = (xr[i] - mean) * inv * weight[i] + bias[i];
  } else {
    for (uint i = lid; i < p.dim; i += step) yr[i] = (xr[i] - mean) * inv * weight[i];
  }
}

typedef struct {
  uint rows, dim;
} softmax_params;

// Three passes: the row max, the sum of exp(x - max) (written out on the way), the scaling.
__kernel void softmax_rows_f32(__global const float* x, __global float* out, const softmax_params p) {
  __local float scratch[ROW_LOCAL_MAX];
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = get_local_id(0), step = get_local_size(0);
  __global const float* xr = x + row * p.dim;
  __global float* yr = out + row * p.dim;
  float m = -INFINITY;
  for (uint i = lid; i < p.dim; i += step) m = fmax(m, xr[i]);
  m = workgroup_reduce(scratch, m, 1);
  float s = 0.0f;
  for (uint i = lid; i < p.dim; i += step) {
    const float e = exp(xr[i] - m);
    yr[i] = e;
    s += e;
  }
  const float total = workgroup_reduce(scratch, s, 0);
  // Each work-item rescales the elements it wrote itself: no barrier needed.
  for (uint i = lid; i < p.dim; i += step) yr[i] = yr[i] / total;
}
