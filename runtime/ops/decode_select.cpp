// argmax and topk over the last dim of x[rows, n] (float32/f16/bf16), exact on the device, for
// sampling without reading back a whole logits row.
//   argmax(x) -> int32[rows]: the first index of the maximum (torch.argmax).
//   topk(x, k) -> values[rows, k] (x's dtype, the elements' own bytes), indices int32[rows, k]:
//     the k largest in descending order, equal values by lower index first: torch.sort(x,
//     descending=True, stable=True)[:, :k]. torch.topk returns the same values, but orders (and,
//     at the k-th value, chooses) equal values in no promised order, so its indices agree with
//     ours only up to ties.
// NaN counts as larger than everything, NaNs by index among themselves, as torch does in both;
// -0 equals +0. Both compare order keys (float bits mapped to uints that sort as the floats),
// so no float comparison on the device decides anything.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "runtime/ops/decode_ops.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

constexpr uint32_t kLocal = 256;  // SELECT_LOCAL of cl/decode.cl
constexpr int64_t kMaxK = 1024;   // TOPK_MAX_K

struct RowsGeometry {
  int64_t rows, n;
};

// Field order is select_params (cl/decode.cl) and the push-constant block.
struct SelectParams {
  uint32_t rows, n, k, sort_size, dtype;
};

RowsGeometry rows_geometry(const std::string& op, const std::vector<TensorSpec>& in) {
  if (in.size() != 1) op_error(op, "expects one input x[rows, n], got " + describe(in));
  decode::expect_same_float(op, in, "x");
  nn::expect_rank(op, "x", in[0], 2);
  nn::check_index_range(op, in);
  const RowsGeometry g{in[0].shape[0], in[0].shape[1]};
  if (g.rows < 1 || g.n < 1) op_error(op, "x must be [rows >= 1, n >= 1]: " + describe(in));
  return g;
}

int64_t topk_k(const RowsGeometry& g, const OpParams& p) {
  return nn::int_param("topk", p, "k", -1, 1, std::min(g.n, kMaxK));
}

// The same mapping as order_key in cl/decode.cl and shaders/decode.comp.
uint32_t order_key(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0xFFFFFFFFu;  // every NaN: above +inf
  if (bits == 0x80000000u) bits = 0;                            // -0 is +0
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

// The first k indices of each row in (key descending, index ascending) order.
std::vector<std::vector<int32_t>> ranked(const Tensor& x, const RowsGeometry& g, int64_t k) {
  const std::vector<float> values = x.to_float_vector();
  std::vector<std::vector<int32_t>> result;
  std::vector<uint32_t> keys(static_cast<size_t>(g.n));
  for (int64_t r = 0; r < g.rows; ++r) {
    for (int64_t j = 0; j < g.n; ++j) keys[static_cast<size_t>(j)] = order_key(values[static_cast<size_t>(r * g.n + j)]);
    std::vector<int32_t> idx(static_cast<size_t>(g.n));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
      const uint32_t ka = keys[static_cast<size_t>(a)], kb = keys[static_cast<size_t>(b)];
      return ka > kb || (ka == kb && a < b);
    });
    idx.resize(static_cast<size_t>(k));
    result.push_back(std::move(idx));
  }
  return result;
}

std::vector<Tensor> argmax_reference(const std::vector<Tensor>& in, const OpParams&) {
  const RowsGeometry g = rows_geometry("argmax", tensor_specs(in));
  std::vector<int32_t> out;
  for (const auto& row : ranked(in[0], g, 1)) out.push_back(row.front());
  return {Tensor::from_values(DType::I32, {g.rows}, out)};
}

std::vector<Tensor> topk_reference(const std::vector<Tensor>& in, const OpParams& p) {
  const RowsGeometry g = rows_geometry("topk", tensor_specs(in));
  const int64_t k = topk_k(g, p);
  const Tensor x = in[0].contiguous();
  const size_t es = x.element_size();
  Tensor values = Tensor::zeros(x.dtype(), {g.rows, k});
  std::vector<int32_t> indices;
  int64_t r = 0;
  for (const auto& row : ranked(x, g, k)) {
    for (size_t t = 0; t < row.size(); ++t) {
      std::memcpy(values.raw_data() + (static_cast<size_t>(r * k) + t) * es,
                  x.raw_data() + static_cast<size_t>(r * g.n + row[t]) * es, es);
    }
    indices.insert(indices.end(), row.begin(), row.end());
    ++r;
  }
  return {values, Tensor::from_values(DType::I32, {g.rows, k}, indices)};
}

void select_encode(EncodeContext& ctx, const std::string& kernel, const std::vector<DeviceTensor>& in,
                   const std::vector<DeviceTensor>& out, int64_t k) {
  const RowsGeometry g = rows_geometry(kernel, tensor_specs(in));
  uint32_t sort_size = 1;
  while (sort_size < k) sort_size *= 2;
  KernelLaunch launch = nn::grid_rows(kernel, static_cast<uint64_t>(g.rows), kLocal);
  launch.buffers = {in[0].buffer.get()};
  for (const DeviceTensor& o : out) launch.buffers.push_back(o.buffer.get());
  launch.set_params(SelectParams{nn::u32(g.rows), nn::u32(g.n), nn::u32(k), sort_size, float_dtype_code(in[0].dtype)});
  ctx.launch(launch);
}

// ---- conformance cases ---------------------------------------------------------------------

// Small integers: many equal values in every row.
Tensor tied(DType dtype, Shape shape, uint32_t seed, int levels) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint32_t state = seed;
  for (float& e : v) {
    state = state * 1664525u + 1013904223u;
    e = static_cast<float>(static_cast<int>((state >> 16) % static_cast<uint32_t>(levels)) - levels / 2);
  }
  return Tensor::from_floats(dtype, std::move(shape), v);
}

// Rows of NaN, ±inf and signed zeros, each tie-breaking rule in one row.
Tensor specials(DType dtype) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> v = {1.0f,  nan,  3.0f,  nan,   inf,   -inf,  2.0f, 3.0f,   // two NaNs win, by index
                                -inf,  -inf, -inf,  -inf,  -inf,  -inf,  -inf, -inf,   // all -inf: index order
                                -0.0f, 0.0f, -0.0f, 0.0f,  -0.0f, -1.0f, 0.0f, -0.0f,  // -0 equals +0
                                -1.0f, inf,  -2.0f, inf,   -inf,  -3.0f, inf,  -4.0f,  // +inf ties
                                -5.0f, -inf, 7.0f,  -0.0f, 0.0f,  -inf,  7.0f, 7.0f};  // finite max among -inf
  return Tensor::from_floats(dtype, {5, 8}, v);
}

std::vector<OpCase> select_cases(bool with_k) {
  struct Case {
    std::string what;
    Shape shape;
    int64_t k;
    int ties;  // 0: random values; else the number of distinct integers
  };
  const std::vector<Case> shapes = {
      {"single", {1, 1}, 1, 0},
      {"odd", {3, 7}, 5, 0},
      {"ties", {4, 2000}, 300, 5},          // the k-th value is tied: lower indices win
      {"ties across runs", {2, 5003}, 1000, 3},  // equal values over several compaction rounds
      {"rows", {5, 1031}, 31, 0},
      {"vocab", {1, 49152}, 50, 0},         // SmolLM2's logits row
      {"vocab k=1024", {2, 49157}, 1024, 0},
      {"full sort", {2, 1024}, 1024, 3},
      {"few ties", {3, 257}, 257, 200},
  };
  std::vector<OpCase> cases;
  uint32_t seed = 2300;
  for (const DType dtype : float_dtypes()) {
    for (const Case& c : shapes) {
      if (!with_k && c.k != 1 && c.shape[1] == c.k) continue;  // the full sorts say nothing more about argmax
      const Tensor x = c.ties ? tied(dtype, c.shape, seed, c.ties) : random_tensor(dtype, c.shape, seed);
      OpParams params;
      if (with_k) params.set("k", static_cast<double>(c.k));
      cases.push_back({std::string(dtype_name(dtype)) + " " + c.what + " x" + shape_to_string(c.shape), {x}, params});
      seed += 1;
    }
    OpParams params;
    if (with_k) params.set("k", 5);
    cases.push_back({std::string(dtype_name(dtype)) + " NaN, inf, -0 x[5,8]", {specials(dtype)}, params});
  }
  return cases;
}

}  // namespace

OpDef argmax_op() {
  OpDef def;
  def.name = "argmax";
  def.summary = "argmax(x[rows,n]) -> int32[rows]: first index of the maximum, NaN above all (torch.argmax); float32/f16/bf16";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams&) {
    const RowsGeometry g = rows_geometry("argmax", in);
    return std::vector<TensorSpec>{{DType::I32, {g.rows}}};
  };
  def.reference = argmax_reference;
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams&) { select_encode(ctx, "argmax", in, out, 1); };
  def.cases = [] { return select_cases(false); };
  def.checks = {OutputCheck{.exact = true}};
  return def;
}

OpDef topk_op() {
  OpDef def;
  def.name = "topk";
  def.summary =
      "topk(x[rows,n]; k <= 1024) -> values[rows,k], indices int32[rows,k]: descending, equal values by lower index, "
      "NaN above all; float32/f16/bf16";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) {
    const RowsGeometry g = rows_geometry("topk", in);
    const int64_t k = topk_k(g, p);
    return std::vector<TensorSpec>{{in[0].dtype, {g.rows, k}}, {DType::I32, {g.rows, k}}};
  };
  def.reference = topk_reference;
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams& p) { select_encode(ctx, "topk", in, out, topk_k(rows_geometry("topk", tensor_specs(in)), p)); };
  def.cases = [] { return select_cases(true); };
  def.checks = {OutputCheck{.exact = true}, OutputCheck{.exact = true}};
  return def;
}

}  // namespace pq::rt
