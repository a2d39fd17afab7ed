#version 450
// embedding; the mirror of cl/embedding.cl (same bindings, parameters and grid: one invocation
// per 32-bit word of the output, which it writes whole). An index outside the table is clamped
// into it, so the gather never reads out of bounds.
//! variant embedding_rows
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Table { uint table[]; };
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) buffer Out { uint result[]; };
layout(push_constant) uniform Params { uint n; uint dim; uint vocab; uint dtype; } p;

// The stored bits of output element i: a float32 word or a 16-bit code, copied as they are.
uint element_code(uint i) {
  const uint pos = i / p.dim;
  const uint src = uint(clamp(indices[pos], 0, int(p.vocab) - 1)) * p.dim + (i - pos * p.dim);
  return p.dtype == DT_F32 ? table[src] : WORD_HALF(table, src);
}

void main() { STORE_OUTPUT_WORD(result, flat_id(), p.n * p.dim, p.dtype, element_code); }
