// embedding: a row gather out of a float32/float16/bfloat16 table by int32 indices, the output
// in the table's dtype, bit for bit (NaN, ±inf and -0 rows are copied as they are, as torch's
// F.embedding does). The reference rejects an index outside the table (naming it); the kernel
// clamps, so a bad index on a device can never read out of bounds. Kernels: cl/embedding.cl,
// shaders/embedding.comp.
#include <cstring>

#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

// Field order is embedding_params (cl/embedding.cl) and the push-constant block.
struct EmbeddingParams {
  uint32_t n, dim, vocab, dtype;
};

struct Table {
  int64_t vocab, dim, n;
};

Table check_embedding(const std::vector<TensorSpec>& in) {
  if (in.size() != 2 || !is_float_dtype(in[0].dtype) || in[1].dtype != DType::I32) {
    op_error("embedding", "expects a float32/float16/bfloat16 table and int32 indices, got " + describe(in));
  }
  nn::expect_rank("embedding", "table", in[0], 2);
  nn::check_index_range("embedding", in);
  const Table t{in[0].shape[0], in[0].shape[1], shape_numel(in[1].shape)};
  if (t.vocab < 1 || t.dim < 1 || t.n < 1) op_error("embedding", "empty table or indices: " + describe(in));
  nn::check_index_range("embedding", {{DType::F32, {t.n, t.dim}}});
  return t;
}

Shape output_shape(const Shape& indices, int64_t dim) {
  Shape s = indices;
  s.push_back(dim);
  return s;
}

std::vector<Tensor> embedding_reference(const std::vector<Tensor>& in, const OpParams&) {
  const Table t = check_embedding({{in[0].dtype(), in[0].shape()}, {in[1].dtype(), in[1].shape()}});
  const Tensor table = in[0].contiguous();
  const std::vector<int32_t> idx = nn::int32_values(in[1]);
  Tensor out = Tensor::zeros(in[0].dtype(), output_shape(in[1].shape(), t.dim));
  const size_t row_bytes = static_cast<size_t>(t.dim) * table.element_size();
  for (int64_t i = 0; i < t.n; ++i) {
    const int64_t row = idx[static_cast<size_t>(i)];
    if (row < 0 || row >= t.vocab) {
      op_error("embedding", "index " + std::to_string(row) + " at position " + std::to_string(i) +
                                " is outside the table of " + std::to_string(t.vocab) + " rows");
    }
    std::memcpy(out.raw_data() + static_cast<size_t>(i) * row_bytes, table.raw_data() + static_cast<size_t>(row) * row_bytes,
                row_bytes);
  }
  return {out};
}

// Indices cover both ends of the table.
Tensor indices(int64_t n, int64_t vocab, uint32_t seed) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + seed) % vocab);
  v.front() = 0;
  v.back() = static_cast<int32_t>(vocab - 1);
  return Tensor::from_values(DType::I32, {n}, v);
}

std::vector<OpCase> embedding_cases() {
  struct Shape3 {
    int64_t vocab, dim, n;
  };
  std::vector<OpCase> cases;
  uint32_t seed = 1100;
  for (const Shape3& s : std::vector<Shape3>{{1, 1, 1}, {37, 7, 11}, {1031, 257, 13}, {5, 31, 257}}) {
    cases.push_back({"table[" + std::to_string(s.vocab) + "," + std::to_string(s.dim) + "] n=" + std::to_string(s.n),
                     {random_tensor(DType::F32, {s.vocab, s.dim}, seed), indices(s.n, s.vocab, seed)},
                     {}});
    ++seed;
  }
  cases.push_back(
      {"indices[3,5]", {random_tensor(DType::F32, {17, 9}, seed), indices(15, 17, seed).reshape({3, 5})}, {}});
  // Odd dims: 16-bit output rows start in the middle of a word; then NaN, ±inf and -0 entries.
  for (DType dtype : kNarrowFloatDTypes) {
    cases.push_back({dtype_tag(dtype) + "table[37,7] n=11", {random_tensor(dtype, {37, 7}, ++seed), indices(11, 37, seed)}, {}});
    cases.push_back({dtype_tag(dtype) + "table[1031,257] n=13", {random_tensor(dtype, {1031, 257}, ++seed), indices(13, 1031, seed)}, {}});
  }
  for (DType dtype : float_dtypes()) {
    cases.push_back({dtype_tag(dtype) + "table[5,3] special values",
                     {with_special_values(random_tensor(dtype, {5, 3}, ++seed), 2), indices(9, 5, seed)}, {}});
  }
  return cases;
}

}  // namespace

void add_embedding_ops(std::vector<OpDef>& ops) {
  OpDef def;
  def.name = "embedding";
  def.summary = "embedding(table[V,D] float32/float16/bfloat16, indices[...] int32) -> [..., D] in the table's dtype; "
                "an index outside [0, V) is an error";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams&) {
    const Table t = check_embedding(in);
    return std::vector<TensorSpec>{{in[0].dtype, output_shape(in[1].shape, t.dim)}};
  };
  def.reference = embedding_reference;
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams&) {
    const Table t = check_embedding({{in[0].dtype, in[0].shape}, {in[1].dtype, in[1].shape}});
    // One work-item per 32-bit word of the output (one float32 or two 16-bit elements).
    const auto elements = static_cast<uint64_t>(out[0].numel());
    KernelLaunch launch = grid_1d("embedding_rows", in[0].dtype == DType::F32 ? elements : (elements + 1) / 2);
    launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), out[0].buffer.get()};
    launch.set_params(EmbeddingParams{nn::u32(t.n), nn::u32(t.dim), nn::u32(t.vocab), float_dtype_code(in[0].dtype)});
    ctx.launch(launch);
  };
  def.cases = embedding_cases;
  def.checks = {OutputCheck{.exact = true}};  // a copy: bit-exact
  ops.push_back(def);
}

}  // namespace pq::rt
