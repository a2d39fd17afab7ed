#version 450
// Row-wise ops over the last dim; the mirror of cl/norm.cl (same bindings and parameters).
// One workgroup per row, a power-of-two workgroup of at most 128 (REDUCE_LOCAL_MAX).
//! variant norm_rows_f32 -DNORM_ROWS
//! variant softmax_rows_f32 -DSOFTMAX_ROWS
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define REDUCE_LOCAL_MAX 128
#include "nn_reduce.glsl"

#ifdef NORM_ROWS
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float weight[]; };
layout(std430, binding = 2) readonly buffer Bs { float bias[]; };
layout(std430, binding = 3) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint rows; uint dim; uint mode; uint has_bias; float eps; } p;

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x, step = gl_WorkGroupSize.x, base = row * p.dim;
  float mean = 0.0;
  if (p.mode == 0u) {  // layernorm centres first, so the variance does not cancel (uniform branch)
    float s = 0.0;
    for (uint i = lid; i < p.dim; i += step) s += x[base + i];
    mean = workgroup_reduce(s, false) / float(p.dim);
  }
  float ss = 0.0;
  for (uint i = lid; i < p.dim; i += step) ss += (x[base + i] - mean) * (x[base + i] - mean);
  const float inv = inversesqrt(workgroup_reduce(ss, false) / float(p.dim) + p.eps);
  if (p.has_bias != 0u) {  // two loops, as in cl/norm.cl
    for (uint i = lid; i < p.dim; i += step) result[base + i] = (x[base + i] - mean) * inv * weight[i] + bias[i];
  } else {
    for (uint i = lid; i < p.dim; i += step) result[base + i] = (x[base + i] - mean) * inv * weight[i];
  }
}
#endif

#ifdef SOFTMAX_ROWS
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Out { float result[]; };
layout(push_constant) uniform Params { uint rows; uint dim; } p;

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x, step = gl_WorkGroupSize.x, base = row * p.dim;
  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (uint i = lid; i < p.dim; i += step) m = max(m, x[base + i]);
  m = workgroup_reduce(m, true);
  float s = 0.0;
  for (uint i = lid; i < p.dim; i += step) {
    const float e = exp(x[base + i] - m);
    result[base + i] = e;
    s += e;
  }
  const float total = workgroup_reduce(s, false);
  // Each invocation rescales the elements it wrote itself: no barrier needed.
  for (uint i = lid; i < p.dim; i += step) result[base + i] = result[base + i] / total;
}
#endif
