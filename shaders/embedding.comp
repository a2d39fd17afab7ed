#version 450
// embedding; the mirror of cl/embedding.cl (same bindings and parameters). An index outside
// the table is clamped into it, so the gather never reads out of bounds.
//! variant embedding_f32
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Table { float table[]; };
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint n; uint dim; uint vocab; } p;

void main() {
  const uint i = flat_id();
  if (i >= p.n * p.dim) return;
  const uint pos = i / p.dim;
  const uint row = uint(clamp(indices[pos], 0, int(p.vocab) - 1));
  result[i] = table[row * p.dim + (i - pos * p.dim)];
}
