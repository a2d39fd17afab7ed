#version 450
// Elementwise ops on float32, float16 and bfloat16; the mirror of cl/elementwise.cl (same
// bindings, parameters and grid: one invocation per 32-bit word of the output, which it writes
// whole, so 16-bit outputs need no atomics).
//! variant binary -DBINARY
//! variant unary -DUNARY
//! variant copy_words -DCOPY
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#ifdef BINARY
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
layout(std430, binding = 2) buffer Out { uint out_words[]; };
// op: 0 add, 1 mul, 2 silu(a) * b, 3 the same on the halves of each row of one x (swiglu; m: output
// columns), 4 on its pairs of elements (2i, 2i + 1: swiglu pairs=1)
layout(push_constant) uniform Params { uint n; uint m; uint op; uint dtype; } p;

// silu_mul rounds silu(a) into the dtype before the product, as the silu and mul ops do.
float binary_apply(float x, float y) {
  if (p.op == 0u) return x + y;
  if (p.op == 1u) return x * y;
  return uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(silu(x)), p.dtype)) * y;
}

uint element_code(uint i) {
  const uint ia = p.op == 3u ? i / p.m * 2u * p.m + i % p.m : p.op == 4u ? 2u * i : i;
  const uint ib = p.op == 3u ? ia + p.m : p.op == 4u ? ia + 1u : i % p.m;
  return float_code(binary_apply(LOAD_FLOAT(a_words, ia, p.dtype), LOAD_FLOAT(b_words, ib, p.dtype)), p.dtype);
}

void main() { STORE_OUTPUT_WORD(out_words, flat_id(), p.n, p.dtype, element_code); }
#endif

#ifdef UNARY
layout(std430, binding = 0) readonly buffer X { uint x_words[]; };
layout(std430, binding = 1) buffer Out { uint out_words[]; };
layout(push_constant) uniform Params { uint n; uint op; uint in_dtype; uint out_dtype; } p;

float unary_apply(float v) {
  if (p.op == 0u) {
    // relu keeps NaN and -0 (torch): zero only for negative non-zero values, -inf included.
    const uint bits = floatBitsToUint(v);
    return bits > 0x80000000u && bits <= 0xFF800000u ? 0.0 : v;
  }
  if (p.op == 1u) return silu(v);
  if (p.op == 2u) return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
  // gelu (tanh) with 0.5 (1 + tanh(u)) written as 1 / (1 + exp(-2u)), as in cl/elementwise.cl
  // (a tanh computed as a ratio of exponentials would overflow to NaN).
  if (p.op == 3u) return v / (1.0 + exp(-2.0 * (0.79788456080286536 * (v + 0.044715 * v * v * v))));
  return v;  // identity: cast
}

uint element_code(uint i) { return float_code(unary_apply(LOAD_FLOAT(x_words, i, p.in_dtype)), p.out_dtype); }

void main() { STORE_OUTPUT_WORD(out_words, flat_id(), p.n, p.out_dtype, element_code); }
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
