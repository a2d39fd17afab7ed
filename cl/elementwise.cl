// Elementwise ops on float32. The operation is a parameter, not a kernel variant, so each
// device compiles two kernels for the whole family. Codes match runtime/ops/elementwise.cpp.

typedef struct {
  uint n;   // elements of the output
  uint m;   // elements of b (b repeats every m elements: same shape, or a trailing-dims broadcast)
  uint op;  // 0 add, 1 mul
} binary_params;

__kernel void binary_f32(__global const float* a, __global const float* b, __global float* out, const binary_params p) {
  const uint i = flat_id();
  if (i >= p.n) return;
  const float x = a[i];
  const float y = b[i % p.m];
  out[i] = p.op == 0 ? x + y : x * y;
}

typedef struct {
  uint n;
  uint op;  // 0 relu, 1 silu, 2 gelu (erf), 3 gelu (tanh)
} unary_params;

__kernel void unary_f32(__global const float* x, __global float* out, const unary_params p) {
  const uint i = flat_id();
  if (i >= p.n) return;
  const float v = x[i];
  float r;
  if (p.op == 0) {
    r = fmax(v, 0.0f);
  } else if (p.op == 1) {
    r = v / (1.0f + exp(-v));
  } else if (p.op == 2) {
    r = 0.5f * v * (1.0f + erf(v * 0.70710678118654752f));
  } else {
    r = 0.5f * v * (1.0f + tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
  out[i] = r;
}

typedef struct {
  uint words;  // 32-bit words to copy (device buffers are whole words)
} copy_params;

// Copies whole 32-bit words: any dtype, and the memory-bandwidth probe of `portaquant bench`.
__kernel void copy_words(__global const uint* in, __global uint* out, const copy_params p) {
  const uint i = flat_id();
  if (i < p.words) out[i] = in[i];
}
