// Elementwise ops on float32, float16 and bfloat16 (runtime/ops/elementwise.cpp). The operation
// and the dtypes are parameters, not kernel variants, so each device compiles three kernels for
// the whole family. Each work-item computes the elements of one 32-bit word of the output (one
// float32 or two 16-bit floats), as the shaders do: a launch is the same on both APIs.

typedef struct {
  uint n;      // elements of the output
  uint m;      // elements of b (b repeats every m elements: same shape, or a trailing-dims broadcast);
               // op 3: the output's columns, a and b the two halves of each row of one 2m-column x
  uint op;     // 0 add, 1 mul, 2 silu(a) * b, 3 silu(a) * b on the halves (swiglu), 4 on the pairs (2i, 2i + 1)
  uint dtype;  // of a, b and the output (DT_*)
} binary_params;

// silu_mul rounds silu(a) into the dtype before the product, as the silu and mul ops do.
inline float binary_apply(uint op, uint dtype, float x, float y) {
  if (op == 0) return x + y;
  if (op == 1) return x * y;
  return as_float(round_bits_to_dtype(as_uint(silu(x)), dtype)) * y;
}

__kernel void binary(__global const uchar* a, __global const uchar* b, __global uchar* out, const binary_params p) {
  const uint w = flat_id();
  for (uint i = word_first_element(w, p.dtype); i < word_end_element(w, p.dtype, p.n); ++i) {
    const uint ia = p.op == 3 ? i / p.m * 2 * p.m + i % p.m : p.op == 4 ? 2 * i : i;
    const uint ib = p.op == 3 ? ia + p.m : p.op == 4 ? ia + 1 : i % p.m;
    store_float(out, i, p.dtype, binary_apply(p.op, p.dtype, load_float(a, ia, p.dtype), load_float(b, ib, p.dtype)));
  }
}

typedef struct {
  uint n;
  uint op;  // 0 relu, 1 silu, 2 gelu (erf), 3 gelu (tanh), 4 identity (cast)
  uint in_dtype, out_dtype;
} unary_params;

inline float unary_apply(uint op, float v) {
  if (op == 0) {
    // relu keeps NaN and -0 (torch): zero only for negative non-zero values, -inf included.
    const uint bits = as_uint(v);
    return bits > 0x80000000u && bits <= 0xFF800000u ? 0.0f : v;
  }
  if (op == 1) return silu(v);
  if (op == 2) return 0.5f * v * (1.0f + erf(v * 0.70710678118654752f));
  // gelu (tanh) with 0.5 (1 + tanh(u)) written as 1 / (1 + exp(-2u)): pocl's tanh stops short
  // of -1 for large negative u, which left -inf at x = -inf where torch has NaN.
  if (op == 3) return v / (1.0f + exp(-2.0f * (0.79788456080286536f * (v + 0.044715f * v * v * v))));
  return v;
}

__kernel void unary(__global const uchar* x, __global uchar* out, const unary_params p) {
  const uint w = flat_id();
  for (uint i = word_first_element(w, p.out_dtype); i < word_end_element(w, p.out_dtype, p.n); ++i) {
    store_float(out, i, p.out_dtype, unary_apply(p.op, load_float(x, i, p.in_dtype)));
  }
}

typedef struct {
  uint words;  // 32-bit words to copy (device buffers are whole words)
} copy_params;

// Copies whole 32-bit words: any dtype, and the memory-bandwidth probe of `portaquant bench`.
__kernel void copy_words(__global const uint* in, __global uint* out, const copy_params p) {
  const uint i = flat_id();
  if (i < p.words) out[i] = in[i];
}
