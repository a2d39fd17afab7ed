#version 450
// Row-wise ops over the last dim on float32/float16/bfloat16 rows; the mirror of cl/norm.cl
// (same bindings and parameters). One workgroup per row, a power-of-two workgroup of at most 128
// (REDUCE_LOCAL_MAX). Neighbouring 16-bit outputs belong to different invocations (and a row's
// first word may hold the previous row's last element), so they are stored with STORE_FLOAT.
//! variant norm_rows -DNORM_ROWS
//! variant add_rmsnorm_rows -DADD_RMSNORM_ROWS
//! variant softmax_rows -DSOFTMAX_ROWS
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define REDUCE_LOCAL_MAX 128
#include "nn_reduce.glsl"

// LlamaRMSNorm's output: the normalized value rounded into x's dtype, then times the weight
// (for the variants that bind `weight` and `result` and have norm_params `p`).
#define STORE_RMS_OUTPUT(i, base, v, inv)                                                                  \
  STORE_FLOAT(result, (base) + (i), p.dtype,                                                               \
              uintBitsToFloat(round_bits_to_dtype(floatBitsToUint((v) * (inv)), p.dtype)) * LOAD_FLOAT(weight, i, p.weight_dtype))

#ifdef NORM_ROWS
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer Wt { uint weight[]; };
layout(std430, binding = 2) readonly buffer Bs { uint bias[]; };
layout(std430, binding = 3) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint rows, dim, mode, has_bias;
  float eps;
  uint dtype, weight_dtype, bias_dtype;
} p;

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x, step = gl_WorkGroupSize.x, base = row * p.dim;
  float mean = 0.0;
  if (p.mode == 0u) {  // layernorm centres first, so the variance does not cancel (uniform branch)
    float s = 0.0;
    for (uint i = lid; i < p.dim; i += step) s += LOAD_FLOAT(x, base + i, p.dtype);
    mean = workgroup_reduce(s, false) / float(p.dim);
  }
  float ss = 0.0;
  for (uint i = lid; i < p.dim; i += step) {
    const float c = LOAD_FLOAT(x, base + i, p.dtype) - mean;
    ss += c * c;
  }
  const float inv = inversesqrt(workgroup_reduce(ss, false) / float(p.dim) + p.eps);
  if (p.mode == 1u) {  // rmsnorm: LlamaRMSNorm rounds x * inv into x's dtype before the weight
    for (uint i = lid; i < p.dim; i += step) STORE_RMS_OUTPUT(i, base, LOAD_FLOAT(x, base + i, p.dtype), inv);
  } else if (p.has_bias != 0u) {  // one loop per case, as in cl/norm.cl
    for (uint i = lid; i < p.dim; i += step) {
      const float v = (LOAD_FLOAT(x, base + i, p.dtype) - mean) * inv * LOAD_FLOAT(weight, i, p.weight_dtype);
      STORE_FLOAT(result, base + i, p.dtype, v + LOAD_FLOAT(bias, i, p.bias_dtype));
    }
  } else {
    for (uint i = lid; i < p.dim; i += step) {
      STORE_FLOAT(result, base + i, p.dtype, (LOAD_FLOAT(x, base + i, p.dtype) - mean) * inv * LOAD_FLOAT(weight, i, p.weight_dtype));
    }
  }
}
#endif

#ifdef ADD_RMSNORM_ROWS
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer R { uint r[]; };
layout(std430, binding = 2) readonly buffer Wt { uint weight[]; };
layout(std430, binding = 3) buffer H { uint h[]; };
layout(std430, binding = 4) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint rows, dim, mode, has_bias;  // mode and has_bias unused
  float eps;
  uint dtype, weight_dtype, bias_dtype;
} p;

// h = x + r rounded into the dtype; each invocation forms its elements again in the second pass.
float rounded_sum(uint i) {
  return uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(LOAD_FLOAT(x, i, p.dtype) + LOAD_FLOAT(r, i, p.dtype)), p.dtype));
}

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x, step = gl_WorkGroupSize.x, base = row * p.dim;
  float ss = 0.0;
  for (uint i = lid; i < p.dim; i += step) {
    const float v = rounded_sum(base + i);
    ss += v * v;
  }
  const float inv = inversesqrt(workgroup_reduce(ss, false) / float(p.dim) + p.eps);
  for (uint i = lid; i < p.dim; i += step) {
    const float v = rounded_sum(base + i);
    STORE_FLOAT(h, base + i, p.dtype, v);
    STORE_RMS_OUTPUT(i, base, v, inv);
  }
}
#endif

#ifdef SOFTMAX_ROWS
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer Out { uint result[]; };
layout(push_constant) uniform Params { uint rows; uint dim; uint dtype; } p;

// Three passes: the row max, the sum of exp(x - max), then exp(x - max) / sum again.
void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x, step = gl_WorkGroupSize.x, base = row * p.dim;
  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (uint i = lid; i < p.dim; i += step) m = max(m, LOAD_FLOAT(x, base + i, p.dtype));
  m = workgroup_reduce(m, true);
  float s = 0.0;
  for (uint i = lid; i < p.dim; i += step) s += exp(LOAD_FLOAT(x, base + i, p.dtype) - m);
  const float total = workgroup_reduce(s, false);
  for (uint i = lid; i < p.dim; i += step) STORE_FLOAT(result, base + i, p.dtype, exp(LOAD_FLOAT(x, base + i, p.dtype) - m) / total);
}
#endif
