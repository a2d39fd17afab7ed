#version 450
// Elementwise ops on float32; the mirror of cl/elementwise.cl (same bindings and parameters).
//! variant binary_f32 -DBINARY
//! variant unary_f32 -DUNARY
//! variant copy_words -DCOPY
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#ifdef BINARY
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint n; uint m; uint op; } p;

void main() {
  const uint i = flat_id();
  if (i >= p.n) return;
  const float x = a[i];
  const float y = b[i % p.m];
  result[i] = p.op == 0u ? x + y : x * y;
}
#endif

#ifdef UNARY
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint n; uint op; } p;

void main() {
  const uint i = flat_id();
  if (i >= p.n) return;
  const float v = x[i];
  float r;
  if (p.op == 0u) {
    r = max(v, 0.0);
  } else if (p.op == 1u) {
    r = v / (1.0 + exp(-v));
  } else if (p.op == 2u) {
    r = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
  } else {
    // tanh may be computed as a ratio of exponentials that overflows to NaN: keep it in range.
    r = 0.5 * v * (1.0 + tanh(clamp(0.79788456080286536 * (v + 0.044715 * v * v * v), -15.0, 15.0)));
  }
  result[i] = r;
}
#endif

#ifdef COPY
// Copies whole 32-bit words: any dtype, and the memory-bandwidth probe of `portaquant bench`.
layout(std430, binding = 0) readonly buffer In { uint words_in[]; };
layout(std430, binding = 1) writeonly buffer Out { uint words_out[]; };
layout(push_constant) uniform Params { uint words; } p;

void main() {
  const uint i = flat_id();
  if (i < p.words) words_out[i] = words_in[i];
}
#endif
