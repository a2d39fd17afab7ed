// rope_kv_write: the attention prologue of a decoder whose q/k/v projections ran as one linear.
//   qkv[n, Hq + 2·Hkv, d], positions int32[n], inv_freq float32[rotary_dim / 2],
//   k_cache[max_len, Hkv, d], v_cache[max_len, Hkv, d], start int32[1]
//   -> q[n, Hq, d], k_cache, v_cache (both in place)
// q is rope of the first Hq heads; rope of the next Hkv heads goes into k_cache and the last Hkv
// heads, as bytes, into v_cache, at rows start .. start + n - 1. By definition the rope op on q,
// the rope op on k, then kv_write of k and of v (its reference is theirs): one launch instead of
// four, which on drivers that pay for every dispatch (lavapipe: 60-100 us) is most of a
// decode step's cost for these small tensors. Param q_heads (required). Kernel: rope_kv_write in
// cl/attention.cl and shaders/attention.comp (it shares rope's rotation); like kv_write, the
// kernel writes no cache row when start puts the block outside the cache (the reference refuses).
#include "runtime/ops/decode_ops.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

const std::string kOp = "rope_kv_write";
constexpr uint32_t kLocal = 64;

struct RopeKvGeometry {
  int64_t n, q_heads, kv_heads, head_dim, half, max_len;
};

// Field order is rope_kv_write_params (cl/attention.cl) and the push-constant block.
struct RopeKvParams {
  uint32_t n, q_heads, kv_heads, head_dim, half_dim, max_len, dtype;
  uint32_t q_units, k_units, v_units;  // work-items for the q rotations, the k rotations, the v copy
};

RopeKvGeometry rope_kv_geometry(const std::vector<TensorSpec>& in, const OpParams& p) {
  if (in.size() != 6) op_error(kOp, "expects qkv, positions, inv_freq, k_cache, v_cache, start, got " + describe(in));
  const TensorSpec &qkv = in[0], &k_cache = in[3];
  decode::expect_same_float(kOp, {qkv, k_cache, in[4]}, "qkv, k_cache and v_cache");
  nn::expect_rank(kOp, "qkv", qkv, 3);
  nn::expect_rank(kOp, "k_cache", k_cache, 3);
  nn::check_index_range(kOp, in);
  const int64_t total_heads = qkv.shape[1];
  RopeKvGeometry g{qkv.shape[0], nn::int_param(kOp, p, "q_heads", 0, 1, total_heads), k_cache.shape[1],
                   qkv.shape[2], 0, k_cache.shape[0]};
  if (in[4].shape != k_cache.shape) op_error(kOp, "k_cache and v_cache must have one shape: " + describe(in));
  if (g.kv_heads < 1 || total_heads != g.q_heads + 2 * g.kv_heads || k_cache.shape[2] != g.head_dim) {
    op_error(kOp, "qkv must be [n, q_heads + 2 kv_heads, d] for caches [max_len, kv_heads, d] (q_heads " +
                      std::to_string(g.q_heads) + "): " + describe(in));
  }
  if (g.n < 1 || g.n > g.max_len || g.head_dim < 2) op_error(kOp, "needs 1 <= n <= max_len and d >= 2: " + describe(in));
  decode::expect_i32_shape(kOp, "positions", in[1], {g.n});
  if (in[2].dtype != DType::F32 || in[2].shape.size() != 1 || in[2].shape[0] < 1 || 2 * in[2].shape[0] > g.head_dim) {
    op_error(kOp, "inv_freq must be float32[rotary_dim / 2] with rotary_dim <= d: " + describe(in));
  }
  g.half = in[2].shape[0];
  decode::expect_i32_shape(kOp, "start", in[5], {1});
  return g;
}

// Heads [first, first + count) of every token of qkv, as a tensor of their own.
Tensor heads(const Tensor& qkv, int64_t first, int64_t count) { return qkv.slice(1, first, first + count).contiguous(); }

std::vector<Tensor> rope_kv_write_reference(const std::vector<Tensor>& in, const OpParams& p) {
  const RopeKvGeometry g = rope_kv_geometry(tensor_specs(in), p);
  const OpDef &rope = find_op("rope"), &kv_write = find_op("kv_write");
  const OpParams rotary{{"rotary_dim", static_cast<double>(2 * g.half)}};
  const Tensor qkv = in[0].contiguous();
  const Tensor q = rope.reference({heads(qkv, 0, g.q_heads), in[1], in[2]}, rotary).at(0);
  const Tensor k = rope.reference({heads(qkv, g.q_heads, g.kv_heads), in[1], in[2]}, rotary).at(0);
  const Tensor v = heads(qkv, g.q_heads + g.kv_heads, g.kv_heads);
  return {q, kv_write.reference({in[3], k, in[5]}, {}).at(0), kv_write.reference({in[4], v, in[5]}, {}).at(0)};
}

void rope_kv_write_encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                          const OpParams& p) {
  const RopeKvGeometry g = rope_kv_geometry(tensor_specs(in), p);
  const int64_t per_head = g.head_dim - g.half;  // rotated pairs and pass-through dims
  const RopeKvParams params{nn::u32(g.n), nn::u32(g.q_heads), nn::u32(g.kv_heads), nn::u32(g.head_dim),
                            nn::u32(g.half), nn::u32(g.max_len), float_dtype_code(in[0].dtype),
                            nn::u32(g.n * g.q_heads * per_head), nn::u32(g.n * g.kv_heads * per_head),
                            nn::u32(g.n * g.kv_heads * g.head_dim)};
  const uint64_t items = uint64_t{params.q_units} + params.k_units + params.v_units;
  KernelLaunch launch = grid_1d("rope_kv_write", items, kLocal);
  launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), in[2].buffer.get(), in[5].buffer.get(),
                    out[0].buffer.get(),  out[1].buffer.get(), out[2].buffer.get()};
  launch.set_params(params);
  ctx.launch(launch);
}

std::vector<OpCase> rope_kv_write_cases() {
  struct Case {
    int64_t n, q_heads, kv_heads, d, rotary, max_len;
    std::vector<int32_t> positions;
    int32_t start;
  };
  const std::vector<Case> shapes = {
      {1, 9, 3, 64, 64, 37, {36}, 36},                     // SmolLM2's decode step, into the last row
      {5, 2, 1, 6, 4, 11, {0, 1, 2, 3, 2047}, 3},          // prefill block, partial rotary
      {3, 3, 3, 5, 2, 4, {7, 8, 9}, 1},                    // multi-head (no grouping), odd d: 16-bit rows mid-word
      {1, 1, 1, 2, 2, 1, {131071}, 0},                     // one element pair, a long-context angle
  };
  std::vector<OpCase> cases;
  uint32_t seed = 2300;
  for (const DType dtype : float_dtypes()) {
    for (const Case& c : shapes) {
      const Shape qkv{c.n, c.q_heads + 2 * c.kv_heads, c.d}, cache{c.max_len, c.kv_heads, c.d};
      cases.push_back({dtype_tag(dtype) + "qkv" + shape_to_string(qkv) + " cache" + shape_to_string(cache) + " rotary " +
                           std::to_string(c.rotary),
                       {random_tensor(dtype, qkv, seed), decode::int32_tensor(c.positions), decode::default_inv_freq(c.rotary),
                        random_tensor(dtype, cache, seed + 1), random_tensor(dtype, cache, seed + 2), decode::int32_tensor({c.start})},
                       {{"q_heads", static_cast<double>(c.q_heads)}}});
      seed += 3;
    }
    // NaN, ±inf and -0 in q, k and v: rotated as rope does, copied as bytes into v_cache.
    cases.push_back({dtype_tag(dtype) + "qkv[2,4,6] special values",
                     {with_special_values(random_tensor(dtype, {2, 4, 6}, seed), 5, 1), decode::int32_tensor({0, 5}), decode::default_inv_freq(6),
                      random_tensor(dtype, {6, 1, 6}, seed + 1), random_tensor(dtype, {6, 1, 6}, seed + 2), decode::int32_tensor({4})},
                     {{"q_heads", 2}}});
    seed += 3;
  }
  return cases;
}

}  // namespace

namespace decode {
Tensor default_inv_freq(int64_t rotary_dim) {
  std::vector<float> inv(static_cast<size_t>(rotary_dim / 2));
  for (size_t i = 0; i < inv.size(); ++i) {
    inv[i] = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(rotary_dim));
  }
  return Tensor::from_floats(DType::F32, {rotary_dim / 2}, inv);
}

}  // namespace decode

OpDef rope_kv_write_op() {
  OpDef def;
  def.name = kOp;
  def.summary =
      "rope_kv_write(qkv[n,Hq+2Hkv,d], positions[n] int32, inv_freq[rotary_dim/2] float32, k_cache[max_len,Hkv,d], "
      "v_cache[max_len,Hkv,d], start int32[1]) -> q[n,Hq,d], k_cache, v_cache (in place): rope of q and k (HF "
      "rotate_half), k and v into the caches at rows start..start+n-1; param q_heads";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) {
    const RopeKvGeometry g = rope_kv_geometry(in, p);
    return std::vector<TensorSpec>{{in[0].dtype, {g.n, g.q_heads, g.head_dim}}, in[3], in[4]};
  };
  def.reference = rope_kv_write_reference;
  def.encode = rope_kv_write_encode;
  def.cases = rope_kv_write_cases;
  // Rotated values as rope's bound; v_cache holds copied bytes (and untouched rows).
  def.checks = {OutputCheck{}, OutputCheck{}, OutputCheck{.exact = true}};
  def.in_place = {{.output = 1, .input = 3}, {.output = 2, .input = 4}};
  return def;
}

}  // namespace pq::rt
