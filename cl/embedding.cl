// embedding (runtime/ops/nn_embedding.cpp): each work-item copies the elements of one 32-bit
// word of the output (one float32 or two 16-bit floats) out of the table rows their indices
// name, bit for bit. An index outside the table is clamped into it: the host reference reports
// such an index as an error, the device must never read out of bounds.

typedef struct {
  uint n, dim, vocab;
  uint dtype;  // of the table and the output (DT_*)
} embedding_params;

__kernel void embedding_rows(__global const uchar* table, __global const int* indices, __global uchar* out,
                             const embedding_params p) {
  const uint w = flat_id();
  for (uint i = word_first_element(w, p.dtype); i < word_end_element(w, p.dtype, p.n * p.dim); ++i) {
    const uint pos = i / p.dim;
    const uint src = (uint)clamp(indices[pos], 0, (int)p.vocab - 1) * p.dim + (i - pos * p.dim);
    if (p.dtype == DT_F32) {
      ((__global uint*)out)[i] = ((__global const uint*)table)[src];
    } else {
      ((__global ushort*)out)[i] = ((__global const ushort*)table)[src];
    }
  }
}
