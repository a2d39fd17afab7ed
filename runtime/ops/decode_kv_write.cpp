// kv_write: new rows into a KV cache, in place, at a position read from the device.
//   cache[max_len, kv_heads, d], new[n, kv_heads, d], start int32[1] -> cache
//   cache[B, max_len, kv_heads, d], new[B, n, kv_heads, d], start int32[B] -> cache
// Rows start[b] .. start[b] + n - 1 of batch b get `new` (a byte copy; any float dtype, the
// same for both). The token-major layout makes one write a contiguous block. The reference
// refuses a range outside the cache; the kernel, which reads start when it runs, writes
// nothing for a batch whose range is outside it.
#include <cstring>

#include "runtime/ops/decode_ops.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

const std::string kOp = "kv_write";
constexpr uint32_t kLocal = 64;

struct KvGeometry {
  int64_t batches, max_len, n, row_elems;  // row_elems = kv_heads * d
  size_t elem_bytes;
};

// Field order is kv_write_params (cl/decode.cl) and the push-constant block.
struct KvWriteParams {
  uint32_t batches, max_len, n, row_elems, elem_bytes;
  uint32_t units;  // work-items per batch: one per element (4-byte), one per word's pair of halves (2-byte)
};

KvGeometry kv_geometry(const std::vector<TensorSpec>& in) {
  if (in.size() != 3) op_error(kOp, "expects cache, new, start, got " + describe(in));
  decode::expect_same_float(kOp, {in[0], in[1]}, "cache and new");
  const TensorSpec &cache = in[0], &rows = in[1];
  const size_t rank = cache.shape.size();
  if ((rank != 3 && rank != 4) || rows.shape.size() != rank) {
    op_error(kOp, "expects cache[max_len, kv_heads, d] and new[n, kv_heads, d], or both with a batch dim first: " +
                      describe(in));
  }
  nn::check_index_range(kOp, in);
  const size_t pos = rank - 3;  // the position dim
  KvGeometry g{rank == 4 ? cache.shape[0] : 1, cache.shape[pos], rows.shape[pos],
               cache.shape[pos + 1] * cache.shape[pos + 2], dtype_size(cache.dtype)};
  const bool same_rows = rows.shape[pos + 1] == cache.shape[pos + 1] && rows.shape[pos + 2] == cache.shape[pos + 2];
  if (!same_rows || (rank == 4 && rows.shape[0] != g.batches)) {
    op_error(kOp, "new must have the cache's batch, kv_heads and d: " + describe(in));
  }
  if (g.batches < 1 || g.n < 1 || g.n > g.max_len || g.row_elems < 1) {
    op_error(kOp, "needs 1 <= n <= max_len and non-empty rows: " + describe(in));
  }
  decode::expect_i32_shape(kOp, "start", in[2], {g.batches});
  return g;
}

std::vector<Tensor> kv_write_reference(const std::vector<Tensor>& in, const OpParams&) {
  const KvGeometry g = kv_geometry(tensor_specs(in));
  const std::vector<int32_t> start = nn::int32_values(in[2]);
  Tensor cache = in[0].contiguous().clone();
  const Tensor rows = in[1].contiguous();
  const size_t row_bytes = static_cast<size_t>(g.row_elems) * g.elem_bytes;
  for (int64_t b = 0; b < g.batches; ++b) {
    const int64_t s = start[static_cast<size_t>(b)];
    if (s < 0 || s + g.n > g.max_len) {
      op_error(kOp, "start[" + std::to_string(b) + "] = " + std::to_string(s) + ": rows " + std::to_string(s) + ".." +
                        std::to_string(s + g.n - 1) + " are outside the cache's 0.." + std::to_string(g.max_len - 1));
    }
    std::memcpy(cache.raw_data() + static_cast<size_t>(b * g.max_len + s) * row_bytes,
                rows.raw_data() + static_cast<size_t>(b * g.n) * row_bytes, static_cast<size_t>(g.n) * row_bytes);
  }
  return {cache};
}

void kv_write_encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                     const OpParams&) {
  const KvGeometry g = kv_geometry(tensor_specs(in));
  const int64_t count = g.n * g.row_elems;  // elements per batch
  // A 2-byte block may start and end inside a word: count / 2 + 1 words cover it.
  const int64_t units = g.elem_bytes == 4 ? count : count / 2 + 1;
  KernelLaunch launch = grid_1d("kv_write", static_cast<uint64_t>(g.batches * units), kLocal);
  launch.buffers = {out[0].buffer.get(), in[1].buffer.get(), in[2].buffer.get()};
  launch.set_params(KvWriteParams{nn::u32(g.batches), nn::u32(g.max_len), nn::u32(g.n), nn::u32(g.row_elems),
                                  static_cast<uint32_t>(g.elem_bytes), nn::u32(units)});
  ctx.launch(launch);
}

std::vector<OpCase> kv_write_cases() {
  struct Case {
    Shape cache, rows;
    std::vector<int32_t> start;
  };
  const std::vector<Case> shapes = {
      {{1, 1, 1}, {1, 1, 1}, {0}},
      {{37, 3, 64}, {1, 3, 64}, {36}},           // decode step into the last row
      {{29, 3, 7}, {13, 3, 7}, {5}},             // odd rows: a 2-byte block starts mid-word
      {{16, 1, 5}, {16, 1, 5}, {0}},             // prefill filling the whole cache
      {{3, 11, 2, 3}, {3, 1, 2, 3}, {10, 0, 4}},  // batched decode, batches at different positions
      {{2, 9, 1, 1}, {2, 3, 1, 1}, {6, 0}},       // batch 0 ends where batch 1 starts: one word, two writers
  };
  std::vector<OpCase> cases;
  uint32_t seed = 2100;
  for (const DType dtype : float_dtypes()) {
    for (const Case& c : shapes) {
      cases.push_back({std::string(dtype_name(dtype)) + " cache" + shape_to_string(c.cache) + " new" +
                           shape_to_string(c.rows),
                       {random_tensor(dtype, c.cache, seed), random_tensor(dtype, c.rows, seed + 1), decode::int32_tensor(c.start)},
                       {}});
      seed += 2;
    }
  }
  // Special values are copied as bytes, NaN payloads included.
  const Tensor rows = decode::with_values_at(random_tensor(DType::BF16, {2, 2, 3}, seed), {0, 3, 5, 11},
                                             {NAN, INFINITY, -INFINITY, -0.0f});
  cases.push_back({"bf16 new with NaN, inf, -0", {random_tensor(DType::BF16, {5, 2, 3}, seed + 1), rows, decode::int32_tensor({3})}, {}});
  return cases;
}

}  // namespace

OpDef kv_write_op() {
  OpDef def;
  def.name = kOp;
  def.summary =
      "kv_write(cache[[B,]max_len,Hkv,d], new[[B,]n,Hkv,d], start int32[B or 1]) -> cache, in place: rows "
      "start..start+n-1 get new (float32/f16/bf16 bytes); start is read on the device";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams&) {
    kv_geometry(in);
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = kv_write_reference;
  def.encode = kv_write_encode;
  def.cases = kv_write_cases;
  def.checks = {OutputCheck{.exact = true}};
  def.in_place = {{.output = 0, .input = 0}};
  return def;
}

}  // namespace pq::rt
