// attention: scaled-dot-product attention over a KV cache, in the layouts a Linear output
// reshaped gives, so no transposes are needed around it:
//   q[B, sq, H, d], k[B, skmax, Hkv, d], v[B, skmax, Hkv, dv], kv_len int32[B] -> out[B, sq, H, dv]
// Batch b sees keys 0 .. kv_len[b] - 1; with causal=1, query i of batch b sees key j iff
// j <= i + kv_len[b] - sq: the queries are the last sq positions of the sequence (prefill:
// sq = kv_len, decode: sq = 1, chunked prefill in between). Query head h reads KV head
// h / (H / Hkv). scores = q k^T * scale (default 1/sqrt(d)). Keys a row does not see take no
// part at all (whatever the cache holds there, NaN included). kv_len is read on the device:
// the reference refuses kv_len[b] outside [1, skmax] (and below sq when causal), the kernel
// clamps it into the cache. Float32/f16/bf16, one dtype for q, k, v and out; float32
// arithmetic, one rounding of the result. The kernel (cl/decode.cl) is sdpa's online softmax
// over key chunks, with the query heads of one KV head in one workgroup so that each K and V row
// is loaded once for all of them; d, dv <= 256.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/ops/decode_ops.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

const std::string kOp = "attention";
constexpr uint32_t kLocal = 64;   // ATT_LOCAL of cl/decode.cl
constexpr int64_t kGroup = 4;     // ATT_GROUP: query heads sharing one workgroup's K/V loads
constexpr int64_t kMaxDim = 256;  // ATT_MAX_D

struct AttentionGeometry {
  int64_t batches, sq, heads, skmax, kv_heads, d, dv;
  bool causal;
  double scale;
};

// Field order is attention_params (cl/decode.cl) and the push-constant block.
struct AttentionParams {
  uint32_t batches, sq, heads, skmax, kv_heads, d, dv, causal;
  float scale;
  uint32_t dtype;
};

AttentionGeometry attention_geometry(const std::vector<TensorSpec>& in, const OpParams& p) {
  if (in.size() != 4) op_error(kOp, "expects q, k, v, kv_len, got " + describe(in));
  decode::expect_same_float(kOp, {in[0], in[1], in[2]}, "q, k and v");
  for (size_t i = 0; i < 3; ++i) nn::expect_rank(kOp, i == 0 ? "q" : i == 1 ? "k" : "v", in[i], 4);
  nn::check_index_range(kOp, in);
  const Shape &q = in[0].shape, &k = in[1].shape, &v = in[2].shape;
  AttentionGeometry g{q[0], q[1], q[2], k[1], k[2], q[3], v[3], false, 0.0};
  if (k[0] != g.batches || k[3] != g.d || v[0] != g.batches || v[1] != g.skmax || v[2] != g.kv_heads) {
    op_error(kOp, "expects q[B,sq,H,d], k[B,skmax,Hkv,d], v[B,skmax,Hkv,dv]: " + describe(in));
  }
  if (g.batches < 1 || g.sq < 1 || g.skmax < 1 || g.kv_heads < 1 || g.heads % g.kv_heads != 0) {
    op_error(kOp, "needs B, sq, skmax >= 1 and H a multiple of Hkv: " + describe(in));
  }
  if (g.d < 1 || g.d > kMaxDim || g.dv < 1 || g.dv > kMaxDim) {
    op_error(kOp, "head dims d and dv must be in [1, " + std::to_string(kMaxDim) + "]: " + describe(in));
  }
  decode::expect_i32_shape(kOp, "kv_len", in[3], {g.batches});
  g.causal = nn::int_param(kOp, p, "causal", 0, 0, 1) == 1;
  g.scale = p.get("scale", 1.0 / std::sqrt(static_cast<double>(g.d)));
  if (!std::isfinite(g.scale)) op_error(kOp, "scale must be finite, got " + p.to_string());
  return g;
}

// How many keys query i of a batch with kv_len valid keys sees.
int64_t visible_keys(const AttentionGeometry& g, int64_t kv_len, int64_t i) {
  return g.causal ? i + kv_len - g.sq + 1 : kv_len;
}

void check_kv_len(const AttentionGeometry& g, const std::vector<int32_t>& kv_len) {
  for (size_t b = 0; b < kv_len.size(); ++b) {
    const int64_t lo = g.causal ? std::max<int64_t>(1, g.sq) : 1;
    if (kv_len[b] < lo || kv_len[b] > g.skmax) {
      op_error(kOp, "kv_len[" + std::to_string(b) + "] = " + std::to_string(kv_len[b]) + " must be in [" +
                        std::to_string(lo) + ", skmax = " + std::to_string(g.skmax) + "]" +
                        (g.causal ? " (causal: every query row must see a key)" : ""));
    }
  }
}

// One query row in double over its `limit` visible keys (k, v: the first key of its KV head;
// rows `stride` elements apart). A NaN score makes the max, and so the row, NaN (as torch's
// softmax); an infinite max makes exp(inf - inf) NaN, as there.
void attention_row(const AttentionGeometry& g, const float* q, const float* k, const float* v, int64_t limit,
                   float* out) {
  const int64_t k_stride = g.kv_heads * g.d, v_stride = g.kv_heads * g.dv;
  std::vector<double> s(static_cast<size_t>(limit));
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < limit; ++j) {
    double dot = 0.0;
    for (int64_t c = 0; c < g.d; ++c) dot += static_cast<double>(q[c]) * k[j * k_stride + c];
    const double score = dot * g.scale;
    s[static_cast<size_t>(j)] = score;
    if (std::isnan(score) || score > m) m = std::isnan(m) ? m : score;
  }
  double sum = 0.0;
  for (double& e : s) sum += (e = std::exp(e - m));
  for (int64_t c = 0; c < g.dv; ++c) {
    double acc = 0.0;
    for (int64_t j = 0; j < limit; ++j) acc += s[static_cast<size_t>(j)] * v[j * v_stride + c];
    out[c] = static_cast<float>(acc / sum);
  }
}

std::vector<Tensor> attention_reference(const std::vector<Tensor>& in, const OpParams& p) {
  const AttentionGeometry g = attention_geometry(tensor_specs(in), p);
  const std::vector<int32_t> kv_len = nn::int32_values(in[3]);
  check_kv_len(g, kv_len);
  const auto q = in[0].to_float_vector(), k = in[1].to_float_vector(), v = in[2].to_float_vector();
  std::vector<float> out(static_cast<size_t>(g.batches * g.sq * g.heads * g.dv));
  const int64_t group = g.heads / g.kv_heads;
  for (int64_t b = 0; b < g.batches; ++b) {
    for (int64_t i = 0; i < g.sq; ++i) {
      for (int64_t h = 0; h < g.heads; ++h) {
        const int64_t row = (b * g.sq + i) * g.heads + h;
        const int64_t kvh = h / group;
        attention_row(g, q.data() + row * g.d, k.data() + (b * g.skmax * g.kv_heads + kvh) * g.d,
                      v.data() + (b * g.skmax * g.kv_heads + kvh) * g.dv,
                      visible_keys(g, kv_len[static_cast<size_t>(b)], i), out.data() + row * g.dv);
      }
    }
  }
  return {Tensor::from_floats(in[0].dtype(), {g.batches, g.sq, g.heads, g.dv}, out)};
}

// The texel tier's kernel (shaders/decode.comp attention_tx) reads float32 quads of q, k and
// v as single texels: rows of whole quads, each tensor within one texel binding.
bool texel_loads(const DeviceInfo& device, const AttentionGeometry& g, const std::vector<DeviceTensor>& in) {
  if (in[0].dtype != DType::F32 || g.d % 4 != 0 || g.dv % 4 != 0) return false;
  return std::all_of(in.begin(), in.begin() + 3, [&device](const DeviceTensor& t) { return texel_bindable(device, *t.buffer); });
}

void attention_encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& p) {
  const AttentionGeometry g = attention_geometry(tensor_specs(in), p);
  // One workgroup per (batch, query, KV head, group of up to kGroup of its query heads).
  const int64_t groups = (g.heads / g.kv_heads + kGroup - 1) / kGroup;
  const bool texel = texel_loads(ctx.device(), g, in);
  KernelLaunch launch = nn::grid_rows(texel ? "attention_tx" : "attention",
                                      static_cast<uint64_t>(g.batches * g.sq * g.kv_heads * groups), kLocal);
  if (texel) launch.texel_buffers = 0b111;  // q, k, v
  launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), in[2].buffer.get(), in[3].buffer.get(), out[0].buffer.get()};
  launch.set_params(AttentionParams{nn::u32(g.batches), nn::u32(g.sq), nn::u32(g.heads), nn::u32(g.skmax),
                                    nn::u32(g.kv_heads), nn::u32(g.d), nn::u32(g.dv), g.causal ? 1u : 0u,
                                    static_cast<float>(g.scale), float_dtype_code(in[0].dtype)});
  ctx.launch(launch);
}

// ---- conformance cases ---------------------------------------------------------------------

struct AttentionShape {
  std::string what;
  int64_t sq, heads, skmax, kv_heads, d, dv;
  std::vector<int32_t> kv_len;  // one per batch
  OpParams params;
  float q_range = 1.0f;
};

OpCase attention_case(const AttentionShape& s, DType dtype, uint32_t seed) {
  const auto batches = static_cast<int64_t>(s.kv_len.size());
  std::string lens;
  for (const int32_t l : s.kv_len) lens += (lens.empty() ? "" : ",") + std::to_string(l);
  return {std::string(dtype_name(dtype)) + " " + s.what + " q[" + std::to_string(batches) + "," + std::to_string(s.sq) +
              "," + std::to_string(s.heads) + "," + std::to_string(s.d) + "] k[" + std::to_string(s.skmax) + "," +
              std::to_string(s.kv_heads) + "] dv " + std::to_string(s.dv) + " kv_len " + lens,
          {random_tensor(dtype, {batches, s.sq, s.heads, s.d}, seed, -s.q_range, s.q_range),
           random_tensor(dtype, {batches, s.skmax, s.kv_heads, s.d}, seed + 1),
           random_tensor(dtype, {batches, s.skmax, s.kv_heads, s.dv}, seed + 2),
           Tensor::from_values(DType::I32, {batches}, s.kv_len)},
          s.params};
}

const std::vector<AttentionShape>& attention_shapes() {
  const OpParams causal{{"causal", 1}};
  static const std::vector<AttentionShape> shapes = {
      {"single", 1, 1, 1, 1, 1, 1, {1}, {}},
      {"decode", 1, 9, 67, 3, 64, 64, {45}, causal},                  // SmolLM2's heads, kv_len < skmax
      {"prefill", 13, 3, 29, 1, 24, 24, {13}, causal},                // sq = kv_len, one KV head
      {"chunked prefill", 5, 9, 31, 9, 40, 24, {17}, causal},         // dv != d, plain multi-head
      {"batched decode", 1, 4, 19, 2, 16, 16, {7, 1, 19}, causal},    // one batch sees one key, one all
      {"batched chunks", 3, 6, 10, 2, 8, 8, {3, 10, 6}, causal},
      {"padded encoder", 11, 3, 11, 3, 32, 32, {11, 5, 8}, {{"scale", 0.2}}},  // BERT: padded rows computed too
      {"three chunks", 2, 3, 2100, 1, 16, 16, {2053}, causal, 3.0f},  // online softmax across 1024-key chunks
      {"largest dims", 3, 2, 7, 1, 256, 256, {5, 3}, causal},
      {"peaked", 37, 2, 37, 2, 128, 128, {37}, causal, 6.0f},        // the running max moves
      {"9 heads a KV head", 2, 9, 53, 1, 7, 5, {50}, causal},       // head groups 4+4+1; d, dv not whole quads
      {"8 heads a KV head", 1, 16, 701, 2, 12, 20, {700}, causal},  // 256-key chunks of 4 heads' scores
  };
  return shapes;
}

// NaN, ±inf and -0 where the reference says what they give: in cache rows a query does not
// see (beyond kv_len, or masked) they take no part; a -inf score gets weight 0; an infinite
// value gives an infinite output column; a NaN query makes its row NaN.
std::vector<OpCase> special_value_cases(DType dtype, uint32_t seed) {
  std::vector<OpCase> cases;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Unseen rows: k, v [1, 9, 2, 4] (8 elements a key), kv_len 6: keys 6..8 are past the end.
  OpCase unseen = attention_case({"unseen NaN", 3, 2, 9, 2, 4, 4, {6}, {{"causal", 1}}}, dtype, seed);
  unseen.inputs[1] = decode::with_values_at(unseen.inputs[1], {6 * 8, 7 * 8 + 3, 8 * 8 + 5, 6 * 8 + 1}, {nan, inf, -inf, nan});
  unseen.inputs[2] = decode::with_values_at(unseen.inputs[2], {6 * 8 + 2, 8 * 8, 7 * 8 + 7}, {nan, -inf, inf});
  unseen.inputs[0] = decode::with_values_at(unseen.inputs[0], {0, 9}, {-0.0f, -0.0f});
  unseen.label += " (NaN/inf in unseen cache rows, -0 in q)";
  cases.push_back(unseen);
  // Positive queries against a -inf key element: that key's score is -inf, its weight 0.
  OpCase neg = attention_case({"-inf keys", 2, 3, 5, 3, 6, 5, {5}, {}}, dtype, seed + 3);
  neg.inputs[0] = random_tensor(dtype, {1, 2, 3, 6}, seed + 4, 0.1f, 1.0f);
  neg.inputs[1] = decode::with_values_at(neg.inputs[1], {1 * 18 + 0 * 6 + 2, 3 * 18 + 2 * 6 + 5}, {-inf, -inf});
  neg.inputs[2] = decode::with_values_at(neg.inputs[2], {0, 7}, {-0.0f, -0.0f});
  neg.label += " (-inf scores, -0 in v)";
  cases.push_back(neg);
  // A NaN query element makes its row NaN; an infinite value its column infinite.
  OpCase rows = attention_case({"NaN row", 2, 2, 4, 1, 3, 3, {4}, {{"causal", 1}}}, dtype, seed + 5);
  rows.inputs[0] = decode::with_values_at(rows.inputs[0], {4}, {nan});
  rows.inputs[2] = decode::with_values_at(rows.inputs[2], {1 * 3 + 2}, {inf});
  rows.label += " (NaN in q, inf in v)";
  cases.push_back(rows);
  return cases;
}

std::vector<OpCase> attention_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 2200;
  for (const DType dtype : float_dtypes()) {
    for (const AttentionShape& s : attention_shapes()) cases.push_back(attention_case(s, dtype, seed += 3));
    for (OpCase& c : special_value_cases(dtype, seed += 6)) cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

OpDef attention_op() {
  OpDef def;
  def.name = kOp;
  def.summary =
      "attention(q[B,sq,H,d], k[B,skmax,Hkv,d], v[B,skmax,Hkv,dv], kv_len int32[B]) -> [B,sq,H,dv]: batch b sees "
      "keys < kv_len[b] (read on the device); params causal (0; query i sees key j <= i + kv_len - sq), scale "
      "(1/sqrt(d)); float32/f16/bf16, d, dv <= 256";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) {
    const AttentionGeometry g = attention_geometry(in, p);
    return std::vector<TensorSpec>{{in[0].dtype, {g.batches, g.sq, g.heads, g.dv}}};
  };
  def.reference = attention_reference;
  def.encode = attention_encode;
  def.cases = attention_cases;
  def.checks = {OutputCheck{}};
  def.reads_tiers = true;  // the texel tier reads q, k and v as texel buffers (attention_tx)
  return def;
}

}  // namespace pq::rt
