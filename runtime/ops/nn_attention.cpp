// Attention pieces on float32/float16/bfloat16, computed in float32 with the output in the
// input's dtype: rope (rotary position embedding, HF's rotate_half convention) and sdpa
// (scaled-dot-product attention with an optional causal mask and grouped K/V heads).
// Kernels: cl/attention.cl, shaders/attention.comp.
//
// What torch (2.x, CPU) gives at the special values, which the references reproduce:
//   rope: x * cos - rotate_half(x) * sin elementwise, so an infinity gives ±inf, or NaN where it
//         meets sin = 0 (position 0) or joins an infinity of the other sign;
//   sdpa: a NaN score (NaN in q or k) makes the query row NaN; a +inf score too (exp(inf - inf));
//         a -inf score gives that key weight 0; NaN or inf in v spreads into the output columns
//         of the rows that weigh it (0 * inf = NaN).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "host/float_format.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

// ---- rope ----------------------------------------------------------------------------------
//
// x[seq, heads, head_dim], positions[seq] int32, optionally inv_freq[rotary_dim / 2] float32.
// For i < half = rotary_dim / 2, with angle = float(pos) * inv_freq[i] rounded to float32 (as HF
// computes freqs = inv_freq ⊗ positions in float32):
//   out[i]        = x[i] * cos(angle) - x[i + half] * sin(angle)
//   out[i + half] = x[i + half] * cos(angle) + x[i] * sin(angle)
// and dims from rotary_dim on pass through (partial rotary, as in GPT-NeoX / Phi).
// Param neg_wrap (default 0 = off): x holds int8 codes × scale with neg_wrap = -128 · scale, as
// optimum-quanto's quantized q/k do; its rotate_half negates the int8 codes, where -(-128)
// wraps to -128, so an x[i + half] equal to neg_wrap enters the first half unnegated.
// inv_freq, when not given, is HF's default 1 / theta^(2i / rotary_dim). Passing it as an input
// covers the scaled variants (Llama 3, NTK, YaRN) and makes the angles bit-identical to the
// host's; computed on the device, exp2 differs from the host's pow by a few ulp.

constexpr uint32_t kRopeLocal = 64;

struct RopeGeometry {
  int64_t seq, heads, head_dim, half;
  bool has_inv_freq;
  double theta;
};

// Field order is rope_params (cl/attention.cl) and the push-constant block.
struct RopeParams {
  uint32_t rows, heads, head_dim, half, has_inv_freq;
  float log2_theta;
  uint32_t dtype;  // of x and the output
  float neg_wrap;  // 0: off
};

RopeGeometry rope_geometry(const std::vector<TensorSpec>& in, const OpParams& p) {
  const std::string op = "rope";
  if (in.size() != 2 && in.size() != 3) op_error(op, "expects x, positions[, inv_freq], got " + describe(in));
  if (!is_float_dtype(in[0].dtype) || in[1].dtype != DType::I32) {
    op_error(op, "x must be float32/float16/bfloat16 and positions int32: " + describe(in));
  }
  nn::expect_rank(op, "x", in[0], 3);
  nn::check_index_range(op, in);
  RopeGeometry g{in[0].shape[0], in[0].shape[1], in[0].shape[2], 0, in.size() == 3, p.get("theta", 10000.0)};
  if (g.seq < 1 || g.heads < 1 || g.head_dim < 2) {
    op_error(op, "x must be [seq, heads, head_dim >= 2]: " + describe(in));
  }
  if (in[1].shape != Shape{g.seq}) op_error(op, "positions must be [seq]: " + describe(in));
  if (g.has_inv_freq && (in[2].shape.size() != 1 || in[2].shape[0] < 1 || 2 * in[2].shape[0] > g.head_dim)) {
    op_error(op, "inv_freq must be [rotary_dim / 2] with rotary_dim <= head_dim: " + describe(in));
  }
  const int64_t fallback = g.has_inv_freq ? 2 * in[2].shape[0] : g.head_dim;
  const int64_t rotary = nn::int_param(op, p, "rotary_dim", fallback, 2, g.head_dim);
  if (rotary % 2 != 0) op_error(op, "rotary_dim must be even, got " + p.to_string());
  g.half = rotary / 2;
  if (g.has_inv_freq) nn::expect_f32_shape(op, "inv_freq", in[2], {g.half});
  if (!(g.theta > 1.0 && std::isfinite(g.theta))) op_error(op, "theta must be finite and > 1, got " + p.to_string());
  return g;
}

// HF's default: inv_freq = 1.0 / (theta ** (arange(0, rotary_dim, 2).float() / rotary_dim)), in float32.
std::vector<float> rope_inv_freq(const RopeGeometry& g, const std::vector<Tensor>& in) {
  if (g.has_inv_freq) return in[2].to_float_vector();
  std::vector<float> inv(static_cast<size_t>(g.half));
  const float theta = static_cast<float>(g.theta);
  for (int64_t i = 0; i < g.half; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(2 * g.half);
    inv[static_cast<size_t>(i)] = 1.0f / std::pow(theta, e);
  }
  return inv;
}

std::vector<Tensor> rope_reference(const std::vector<Tensor>& in, const OpParams& p) {
  std::vector<TensorSpec> specs;
  for (const auto& t : in) specs.push_back({t.dtype(), t.shape()});
  const RopeGeometry g = rope_geometry(specs, p);
  const std::vector<float> inv = rope_inv_freq(g, in);
  const std::vector<int32_t> pos = nn::int32_values(in[1]);
  const auto neg_wrap = static_cast<float>(p.get("neg_wrap", 0.0));
  const DType dtype = in[0].dtype();
  std::vector<float> out = in[0].to_float_vector();  // pass-through dims keep their values
  const std::vector<float> x = out;
  for (int64_t row = 0; row < g.seq * g.heads; ++row) {
    const int64_t base = row * g.head_dim;
    for (int64_t i = 0; i < g.half; ++i) {
      const float angle = static_cast<float>(pos[static_cast<size_t>(row / g.heads)]) * inv[static_cast<size_t>(i)];
      const float a = x[static_cast<size_t>(base + i)], b = x[static_cast<size_t>(base + i + g.half)];
      const float minus_b = neg_wrap != 0.0f && b == neg_wrap ? b : -b;
      if (dtype == DType::F32) {
        const double c = std::cos(static_cast<double>(angle)), s = std::sin(static_cast<double>(angle));
        out[static_cast<size_t>(base + i)] = static_cast<float>(a * c + minus_b * s);
        out[static_cast<size_t>(base + i + g.half)] = static_cast<float>(b * c + a * s);
        continue;
      }
      // float16/bfloat16 as transformers computes it: cos and sin (float32) cast to the dtype,
      // then x * cos + rotate_half(x) * sin with every product and the sum rounded to it.
      auto r = [&](double v) { return round_to_dtype(dtype, static_cast<float>(v)); };
      const float c = r(std::cos(static_cast<double>(angle))), s = r(std::sin(static_cast<double>(angle)));
      out[static_cast<size_t>(base + i)] = r(r(a * c) + r(minus_b * s));
      out[static_cast<size_t>(base + i + g.half)] = r(r(b * c) + r(a * s));
    }
  }
  return {Tensor::from_floats(in[0].dtype(), in[0].shape(), out)};
}

void rope_encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                 const OpParams& p) {
  std::vector<TensorSpec> specs;
  for (const auto& t : in) specs.push_back({t.dtype, t.shape});
  const RopeGeometry g = rope_geometry(specs, p);
  // One work-item per rotated pair and per pass-through dim: head_dim - half items a row.
  const uint64_t rows = static_cast<uint64_t>(g.seq * g.heads);
  KernelLaunch launch = grid_1d("rope", rows * static_cast<uint64_t>(g.head_dim - g.half), kRopeLocal);
  launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), nn::buffer_or_placeholder(in, 2), out[0].buffer.get()};
  launch.set_params(RopeParams{nn::u32(g.seq * g.heads), nn::u32(g.heads), nn::u32(g.head_dim), nn::u32(g.half),
                               g.has_inv_freq ? 1u : 0u, static_cast<float>(std::log2(g.theta)),
                               float_dtype_code(in[0].dtype), static_cast<float>(p.get("neg_wrap", 0.0))});
  ctx.launch(launch);
}

Tensor positions(int64_t seq, int32_t max_position, uint32_t seed) {
  std::vector<int32_t> v(static_cast<size_t>(seq));
  for (int64_t i = 0; i < seq; ++i) {
    v[static_cast<size_t>(i)] = static_cast<int32_t>((i * 2654435761u + seed) % static_cast<uint32_t>(max_position));
  }
  v.front() = 0;
  if (seq > 1) v.back() = max_position - 1;
  return Tensor::from_values(DType::I32, {seq}, v);
}

// Llama 3's scaled inv_freq (rope_type "llama3": factor 8, low/high frequency factors 1 and 4,
// 8192 original positions), computed from the default one as HF does.
Tensor llama3_inv_freq(int64_t head_dim, double theta) {
  std::vector<float> inv(static_cast<size_t>(head_dim / 2));
  for (size_t i = 0; i < inv.size(); ++i) {
    const double f = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
    const double wavelen = 2.0 * std::numbers::pi / f, low = 8192.0 / 1.0, high = 8192.0 / 4.0;
    const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
    inv[i] = static_cast<float>(wavelen > low ? f / 8.0 : wavelen < high ? f : (1.0 - smooth) * f / 8.0 + smooth * f);
  }
  return Tensor::from_floats(DType::F32, {head_dim / 2}, inv);
}

std::vector<OpCase> rope_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"x[1,1,2]", {random_tensor(DType::F32, {1, 1, 2}, 1200), positions(1, 1, 1)}, {}});
  cases.push_back(
      {"x[7,3,64] pos<2048", {random_tensor(DType::F32, {7, 3, 64}, 1201), positions(7, 2048, 2)}, {{"theta", 10000}}});
  cases.push_back({"x[5,2,6] rotary 4",
                   {random_tensor(DType::F32, {5, 2, 6}, 1202), positions(5, 100, 3)},
                   {{"theta", 500000}, {"rotary_dim", 4}}});
  cases.push_back({"x[11,1,130]", {random_tensor(DType::F32, {11, 1, 130}, 1203), positions(11, 31, 4)}, {}});
  // Long-context positions: only accurate sin/cos range reduction on the device meets the bound.
  cases.push_back(
      {"x[9,4,128] llama3 inv_freq pos<131072",
       {random_tensor(DType::F32, {9, 4, 128}, 1204), positions(9, 131072, 5), llama3_inv_freq(128, 500000.0)},
       {}});
  // Odd heads and head dims: 16-bit rows start in the middle of a word.
  uint32_t seed = 1210;
  for (DType dtype : kNarrowFloatDTypes) {
    cases.push_back({dtype_tag(dtype) + "x[7,3,64] pos<2048", {random_tensor(dtype, {7, 3, 64}, seed++), positions(7, 2048, 2)}, {}});
    cases.push_back({dtype_tag(dtype) + "x[5,3,6] rotary 4",
                     {random_tensor(dtype, {5, 3, 6}, seed++), positions(5, 100, 3)},
                     {{"rotary_dim", 4}}});
  }
  // quanto's int8 q/k: codes × 0.25 with some codes at -128, whose negation wraps.
  for (DType dtype : float_dtypes()) {
    std::vector<float> codes = random_tensor(DType::F32, {3, 2, 16}, seed++, -127.0f, 127.0f).to_float_vector();
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = i % 5 == 3 ? -128.0f * 0.25f : std::nearbyint(codes[i]) * 0.25f;
    cases.push_back({dtype_tag(dtype) + "x[3,2,16] int8 codes, neg_wrap", {Tensor::from_floats(dtype, {3, 2, 16}, codes), positions(3, 50, 6)},
                     {{"neg_wrap", -32.0}}});
  }
  for (DType dtype : float_dtypes()) {
    cases.push_back({dtype_tag(dtype) + "x[5,3,10] rotary 6 special values",
                     {with_special_values(random_tensor(dtype, {5, 3, 10}, seed++), 7, 1), positions(5, 100, 4)},
                     {{"rotary_dim", 6}}});
  }
  return cases;
}

OpDef rope_op() {
  OpDef def;
  def.name = "rope";
  def.summary =
      "rope(x[seq,heads,head_dim], positions[seq] int32[, inv_freq[rotary_dim/2] float32]): float32/float16/"
      "bfloat16, output in x's dtype, HF rotate_half; params theta (10000), rotary_dim (head_dim), neg_wrap (0; "
      "-128·scale: quanto's int8 negation wrap)";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) {
    rope_geometry(in, p);
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = rope_reference;
  def.encode = rope_encode;
  def.cases = rope_cases;
  def.checks = {OutputCheck{}};
  return def;
}

// ---- sdpa ----------------------------------------------------------------------------------
//
// q[heads, sq, d], k[kv_heads, sk, d], v[kv_heads, sk, dv] -> [heads, sq, dv]; query head h
// reads K/V head h / (heads / kv_heads) (grouped-query attention; kv_heads == heads is plain
// multi-head). scores = q k^T * scale (default 1/sqrt(d)); causal masks key j of query i when
// j > i + (sk - sq): the mask is aligned to the end, as for a query block appended to a KV
// cache (torch's is_causal for sq == sk). The kernel runs one workgroup per (head, query row)
// over chunks of up to 1024 keys with an online softmax across chunks, so sk is unbounded; d
// and dv are at most 256 (the query row and each work-item's accumulators live on chip).

constexpr uint32_t kSdpaLocal = 64;   // workgroup size (cl/attention.cl SDPA_LOCAL)
constexpr int64_t kSdpaMaxDim = 256;  // SDPA_MAX_D

struct SdpaGeometry {
  int64_t heads, kv_heads, sq, sk, d, dv;
  bool causal;
  double scale;
};

// Field order is sdpa_params (cl/attention.cl) and the push-constant block.
struct SdpaParams {
  uint32_t heads, kv_heads, sq, sk, d, dv, causal;
  float scale;
  uint32_t dtype;  // of q, k, v and the output
};

SdpaGeometry sdpa_geometry(const std::vector<TensorSpec>& in, const OpParams& p) {
  const std::string op = "sdpa";
  if (in.size() != 3) op_error(op, "expects q, k, v, got " + describe(in));
  expect_float_dtype(op, "q", in[0]);
  nn::expect_same_dtype(op, in, "q, k and v");
  for (size_t i = 0; i < 3; ++i) nn::expect_rank(op, i == 0 ? "q" : i == 1 ? "k" : "v", in[i], 3);
  nn::check_index_range(op, in);
  SdpaGeometry g{};
  g.heads = in[0].shape[0], g.sq = in[0].shape[1], g.d = in[0].shape[2];
  g.kv_heads = in[1].shape[0], g.sk = in[1].shape[1], g.dv = in[2].shape[2];
  if (in[1].shape[2] != g.d || in[2].shape[0] != g.kv_heads || in[2].shape[1] != g.sk) {
    op_error(op, "expects q[heads,sq,d], k[kv_heads,sk,d], v[kv_heads,sk,dv]: " + describe(in));
  }
  if (g.heads < 1 || g.kv_heads < 1 || g.heads % g.kv_heads != 0 || g.sq < 1 || g.sk < 1) {
    op_error(op, "heads must be a multiple of kv_heads, and sq, sk >= 1: " + describe(in));
  }
  if (g.d < 1 || g.d > kSdpaMaxDim || g.dv < 1 || g.dv > kSdpaMaxDim) {
    op_error(op, "head dims d and dv must be in [1, " + std::to_string(kSdpaMaxDim) + "]: " + describe(in));
  }
  g.causal = nn::int_param(op, p, "causal", 0, 0, 1) == 1;
  if (g.causal && g.sq > g.sk) op_error(op, "causal needs sq <= sk (a query row would see no key): " + describe(in));
  g.scale = p.get("scale", 1.0 / std::sqrt(static_cast<double>(g.d)));
  if (!std::isfinite(g.scale)) op_error(op, "scale must be finite, got " + p.to_string());
  return g;
}

// One query row in double: scores, max-subtracted softmax, weighted sum of V rows.
void sdpa_row(const SdpaGeometry& g, const float* q, const float* k, const float* v, int64_t i, float* out) {
  const int64_t limit = g.causal ? std::min(g.sk, i + (g.sk - g.sq) + 1) : g.sk;
  std::vector<double> s(static_cast<size_t>(limit));
  for (int64_t j = 0; j < limit; ++j) {
    double dot = 0.0;
    for (int64_t c = 0; c < g.d; ++c) dot += static_cast<double>(q[c]) * k[j * g.d + c];
    s[static_cast<size_t>(j)] = dot * g.scale;
  }
  const double m = *std::max_element(s.begin(), s.end());
  double sum = 0.0;
  for (double& e : s) sum += (e = std::exp(e - m));
  for (int64_t c = 0; c < g.dv; ++c) {
    double acc = 0.0;
    for (int64_t j = 0; j < limit; ++j) acc += s[static_cast<size_t>(j)] * v[j * g.dv + c];
    out[c] = static_cast<float>(acc / sum);
  }
}

std::vector<Tensor> sdpa_reference(const std::vector<Tensor>& in, const OpParams& p) {
  const SdpaGeometry g = sdpa_geometry(
      {{in[0].dtype(), in[0].shape()}, {in[1].dtype(), in[1].shape()}, {in[2].dtype(), in[2].shape()}}, p);
  const auto q = in[0].to_float_vector(), k = in[1].to_float_vector(), v = in[2].to_float_vector();
  std::vector<float> out(static_cast<size_t>(g.heads * g.sq * g.dv));
  for (int64_t h = 0; h < g.heads; ++h) {
    const int64_t kvh = h / (g.heads / g.kv_heads);
    for (int64_t i = 0; i < g.sq; ++i) {
      sdpa_row(g, q.data() + (h * g.sq + i) * g.d, k.data() + kvh * g.sk * g.d, v.data() + kvh * g.sk * g.dv, i,
               out.data() + (h * g.sq + i) * g.dv);
    }
  }
  return {Tensor::from_floats(in[0].dtype(), {g.heads, g.sq, g.dv}, out)};
}

void sdpa_encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                 const OpParams& p) {
  const SdpaGeometry g =
      sdpa_geometry({{in[0].dtype, in[0].shape}, {in[1].dtype, in[1].shape}, {in[2].dtype, in[2].shape}}, p);
  KernelLaunch launch = nn::grid_rows("sdpa", static_cast<uint64_t>(g.heads * g.sq), kSdpaLocal);
  launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), in[2].buffer.get(), out[0].buffer.get()};
  launch.set_params(SdpaParams{nn::u32(g.heads), nn::u32(g.kv_heads), nn::u32(g.sq), nn::u32(g.sk), nn::u32(g.d),
                               nn::u32(g.dv), g.causal ? 1u : 0u, static_cast<float>(g.scale),
                               float_dtype_code(in[0].dtype)});
  ctx.launch(launch);
}

std::vector<OpCase> sdpa_cases() {
  struct Case {
    int64_t heads, kv_heads, sq, sk, d, dv;
    OpParams params;
    float q_range;
  };
  const std::vector<Case> shapes = {
      {1, 1, 1, 1, 1, 1, {}, 1.0f},
      {2, 2, 7, 7, 16, 16, {{"causal", 1}}, 1.0f},
      {3, 3, 5, 129, 64, 64, {}, 1.0f},
      {2, 1, 3, 2053, 16, 8, {{"causal", 1}}, 3.0f},    // three key chunks, the last of a few keys
      {4, 2, 13, 31, 32, 32, {{"causal", 1}}, 1.0f},    // grouped K/V heads, sq < sk
      {2, 2, 3, 67, 24, 40, {{"scale", 0.3}}, 1.0f},    // dv != d, explicit scale
      {1, 1, 2, 5, 256, 256, {}, 1.0f},                 // the largest head dims
      {5, 1, 1, 200, 80, 80, {{"causal", 1}}, 1.0f},    // decode step, one K/V head
      {2, 2, 37, 37, 128, 128, {{"causal", 1}}, 6.0f},  // peaked scores: the running max moves
  };
  std::vector<OpCase> cases;
  uint32_t seed = 1300;
  const auto add = [&](const Case& c, DType dtype, bool special) {
    std::vector<Tensor> in{random_tensor(dtype, {c.heads, c.sq, c.d}, seed, -c.q_range, c.q_range),
                           random_tensor(dtype, {c.kv_heads, c.sk, c.d}, seed + 1),
                           random_tensor(dtype, {c.kv_heads, c.sk, c.dv}, seed + 2)};
    seed += 3;
    if (special) {  // special query rows, a few special keys and values
      in[0] = with_special_rows(in[0]);
      in[1] = with_special_values(in[1], 29, 3);
      in[2] = with_special_values(in[2], 31, 7);
    }
    cases.push_back({dtype_tag(dtype) + "q[" + std::to_string(c.heads) + "," + std::to_string(c.sq) + "," +
                         std::to_string(c.d) + "] k[" + std::to_string(c.kv_heads) + "," + std::to_string(c.sk) + "] dv " +
                         std::to_string(c.dv) + (special ? " special values" : ""),
                     in, c.params});
  };
  for (const Case& c : shapes) add(c, DType::F32, false);
  for (DType dtype : kNarrowFloatDTypes) {
    add(shapes[4], dtype, false);
    add(shapes[5], dtype, false);
    add(Case{3, 1, 1, 37, 13, 7, {}, 1.0f}, dtype, false);  // odd head dims: rows off word boundaries
  }
  for (DType dtype : float_dtypes()) add(Case{2, 1, 9, 23, 11, 5, {{"causal", 1}}, 1.0f}, dtype, true);
  return cases;
}

OpDef sdpa_op() {
  OpDef def;
  def.name = "sdpa";
  def.summary =
      "sdpa(q[H,sq,d], k[Hkv,sk,d], v[Hkv,sk,dv]): softmax(q k^T * scale [+ causal mask]) v, float32/float16/"
      "bfloat16 (one dtype for q, k, v and the output), H a multiple of Hkv, d, dv <= 256; params causal (0; mask "
      "aligned to the end), scale (1/sqrt(d))";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) {
    const SdpaGeometry g = sdpa_geometry(in, p);
    return std::vector<TensorSpec>{{in[0].dtype, {g.heads, g.sq, g.dv}}};
  };
  def.reference = sdpa_reference;
  def.encode = sdpa_encode;
  def.cases = sdpa_cases;
  def.checks = {OutputCheck{}};
  return def;
}

}  // namespace

void add_attention_ops(std::vector<OpDef>& ops) {
  ops.push_back(rope_op());
  ops.push_back(sdpa_op());
}

}  // namespace pq::rt
