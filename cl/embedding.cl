// embedding (runtime/ops/nn_embedding.cpp): one work-item per output element copies it out of
// the table row its index names. An index outside the table is clamped into it: the host
// reference reports such an index as an error, the device must never read out of bounds.

typedef struct {
  uint n, dim, vocab;
} embedding_params;

__kernel void embedding_f32(__global const float* table, __global const int* indices, __global float* out,
                            const embedding_params p) {
  const uint i = flat_id();
  if (i >= p.n * p.dim) return;
  const uint pos = i / p.dim;
  const uint row = (uint)clamp(indices[pos], 0, (int)p.vocab - 1);
  out[i] = table[row * p.dim + (i - pos * p.dim)];
}
