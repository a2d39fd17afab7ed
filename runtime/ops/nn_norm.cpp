// Row-wise ops over the last dim of a float32/float16/bfloat16 tensor: layernorm, rmsnorm,
// add_rmsnorm (a decoder's residual add and the next RMSNorm in one launch) and softmax,
// computed in float32 with the output in x's dtype. One workgroup per row reduces in
// shared memory (a tree over a power-of-two workgroup, no subgroups). Kernels: cl/norm.cl,
// shaders/norm.comp.
//
// What torch (2.x, CPU) gives at the special values, which the references reproduce:
//   layernorm: a NaN or an infinity anywhere in a row makes the whole row NaN (mean and variance
//              are NaN or inf, and inf - inf = NaN);
//   rmsnorm:   NaN in a row: the row is NaN; ±inf: mean(x^2) = inf, rsqrt(inf) = 0, so the row is
//              ±0 (finite x * 0) except NaN at the infinity (inf * 0); a row of -0 stays -0;
//   softmax:   NaN or +inf in a row: the whole row is NaN (exp(inf - inf)); -inf gives 0 where it
//              is; a row of -inf is NaN (exp(-inf + inf)).
#include <algorithm>
#include <cmath>

#include "host/float_format.h"

#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

// Power of two (the reduction tree halves it), the size of the kernels' shared arrays.
constexpr uint32_t kRowLocal = 128;

enum class NormMode : uint32_t { LayerNorm = 0, RmsNorm = 1 };

// Field order is norm_params (cl/norm.cl) and the push-constant block (shaders/norm.comp).
struct NormParams {
  uint32_t rows, dim, mode, has_bias;
  float eps;
  uint32_t dtype, weight_dtype, bias_dtype;  // x and the output; weight; bias
};
struct SoftmaxParams {
  uint32_t rows, dim, dtype;
};

struct Rows {
  int64_t rows, dim;
};

Rows rows_of(const std::string& op, const TensorSpec& x) {
  if (!is_float_dtype(x.dtype) || x.shape.empty() || shape_numel(x.shape) == 0) {
    op_error(op, "input must be a non-empty float32/float16/bfloat16 tensor of rank >= 1, got " + describe({x}));
  }
  nn::check_index_range(op, {x});
  const int64_t dim = x.shape.back();
  return {shape_numel(x.shape) / dim, dim};
}

float eps_param(const std::string& op, const OpParams& p, double fallback) {
  const double eps = p.get("eps", fallback);
  if (!(eps >= 0.0 && std::isfinite(eps))) op_error(op, "eps must be finite and >= 0, got " + p.to_string());
  return static_cast<float>(eps);
}

// layernorm: x, weight[D][, bias[D]]; rmsnorm: x, weight[D]. Weight and bias may have any float
// dtype (a model's parameters need not be in its activations' dtype).
void check_norm_inputs(const std::string& op, NormMode mode, const std::vector<TensorSpec>& in) {
  const size_t max_inputs = mode == NormMode::LayerNorm ? 3 : 2;
  if (in.size() < 2 || in.size() > max_inputs) {
    op_error(op, std::string("expects x, weight") + (mode == NormMode::LayerNorm ? "[, bias]" : "") + ", got " +
                     describe(in));
  }
  const Rows r = rows_of(op, in[0]);
  nn::expect_float_shape(op, "weight", in[1], {r.dim});
  if (in.size() == 3) nn::expect_float_shape(op, "bias", in[2], {r.dim});
}

// One normalized row. layernorm, in double, subtracts the mean first (two passes, so the
// variance does not cancel). rmsnorm follows transformers' LlamaRMSNorm step by step in float32:
// inv = rsqrt(mean(x^2) + eps) (the sum taken in double, then rounded), y = weight *
// (x * inv).to(dtype), so in float16/bfloat16 the normalized value is rounded into the dtype
// before the weight multiplies it, and the output rounds again (bit for bit what LlamaRMSNorm
// gives, see tests/conformance).
void norm_row(NormMode mode, DType dtype, const float* x, const float* w, const float* b, int64_t dim, double eps,
              float* out) {
  double mean = 0.0;
  if (mode == NormMode::LayerNorm) {
    for (int64_t i = 0; i < dim; ++i) mean += x[i];
    mean /= static_cast<double>(dim);
  }
  double ss = 0.0;
  for (int64_t i = 0; i < dim; ++i) ss += (x[i] - mean) * (x[i] - mean);
  if (mode == NormMode::RmsNorm) {
    const float variance = static_cast<float>(ss / static_cast<double>(dim));
    const float inv = 1.0f / std::sqrt(variance + static_cast<float>(eps));
    for (int64_t i = 0; i < dim; ++i) out[i] = w[i] * round_to_dtype(dtype, x[i] * inv);
    return;
  }
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
  for (int64_t i = 0; i < dim; ++i) out[i] = static_cast<float>((x[i] - mean) * inv * w[i] + (b ? b[i] : 0.0));
}

// norm_row over every row of x [rows, dim] (b may be empty).
std::vector<float> normalize_rows(NormMode mode, DType dtype, const std::vector<float>& x, const std::vector<float>& w,
                                  const std::vector<float>& b, const Rows& r, double eps) {
  std::vector<float> out(x.size());
  for (int64_t row = 0; row < r.rows; ++row) {
    norm_row(mode, dtype, x.data() + row * r.dim, w.data(), b.empty() ? nullptr : b.data(), r.dim, eps,
             out.data() + row * r.dim);
  }
  return out;
}

constexpr double kLayerNormEps = 1e-5, kRmsNormEps = 1e-6;  // the ops' default eps

std::vector<OpCase> norm_cases(uint32_t seed) {
  const std::vector<Shape> shapes = {{1, 1}, {7, 31}, {3, 257}, {2, 1031}, {1, 4099}, {2, 3, 13}};
  std::vector<OpCase> cases;
  const auto add = [&](const std::string& label, const Tensor& x, DType param_dtype) {
    const int64_t dim = x.shape().back();
    cases.push_back({label,
                     {x, random_tensor(param_dtype, {dim}, seed++, 0.5f, 1.5f), random_tensor(param_dtype, {dim}, seed++)},
                     {{"eps", 1e-5}}});
  };
  // An offset mean (values in [2, 4)) checks that the variance does not cancel.
  for (const Shape& s : shapes) add(shape_to_string(s), random_tensor(DType::F32, s, seed++, 2.0f, 4.0f), DType::F32);
  for (DType dtype : kNarrowFloatDTypes) {
    // Odd dims: 16-bit rows start in the middle of a word. Weights in the model's dtype, and once
    // in float32 (parameters kept in float32).
    add(dtype_tag(dtype) + "[7,31]", random_tensor(dtype, {7, 31}, seed++, 2.0f, 4.0f), dtype);
    add(dtype_tag(dtype) + "[3,257] f32 weight", random_tensor(dtype, {3, 257}, seed++, 2.0f, 4.0f), DType::F32);
    add(dtype_tag(dtype) + "[2,3,13]", random_tensor(dtype, {2, 3, 13}, seed++, -2.0f, 2.0f), dtype);
  }
  for (DType dtype : float_dtypes()) {
    add(dtype_tag(dtype) + "[14,9] special values", with_special_rows(random_tensor(dtype, {14, 9}, seed++, -2.0f, 2.0f)), dtype);
  }
  return cases;
}

OpDef norm_op(const std::string& name, NormMode mode) {
  OpDef def;
  def.name = name;
  def.summary = mode == NormMode::LayerNorm
                    ? "layernorm(x[...,D], weight[D][, bias[D]]): float32/float16/bfloat16 (weight and bias any of "
                      "them), over the last dim, output in x's dtype; param eps (1e-5)"
                    : "rmsnorm(x[...,D], weight[D]): float32/float16/bfloat16 (weight any of them), weight * "
                      "round(x * rsqrt(mean(x^2) + eps)) as LlamaRMSNorm, output in x's dtype; param eps (1e-6)";
  const double default_eps = mode == NormMode::LayerNorm ? kLayerNormEps : kRmsNormEps;
  def.infer = [name, mode](const std::vector<TensorSpec>& in, const OpParams&) {
    check_norm_inputs(name, mode, in);
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [name, mode, default_eps](const std::vector<Tensor>& in, const OpParams& p) {
    const Rows r = rows_of(name, {in[0].dtype(), in[0].shape()});
    const auto x = in[0].to_float_vector(), w = in[1].to_float_vector();
    const auto b = in.size() == 3 ? in[2].to_float_vector() : std::vector<float>();
    const std::vector<float> out = normalize_rows(mode, in[0].dtype(), x, w, b, r, eps_param(name, p, default_eps));
    return std::vector<Tensor>{Tensor::from_floats(in[0].dtype(), in[0].shape(), out)};
  };
  def.encode = [name, mode, default_eps](EncodeContext& ctx, const std::vector<DeviceTensor>& in,
                                         const std::vector<DeviceTensor>& out, const OpParams& p) {
    const Rows r = rows_of(name, {in[0].dtype, in[0].shape});
    KernelLaunch launch = nn::grid_rows("norm_rows", static_cast<uint64_t>(r.rows), kRowLocal);
    launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), nn::buffer_or_placeholder(in, 2), out[0].buffer.get()};
    const DType bias_dtype = in.size() == 3 ? in[2].dtype : DType::F32;
    launch.set_params(NormParams{nn::u32(r.rows), nn::u32(r.dim), static_cast<uint32_t>(mode), in.size() == 3 ? 1u : 0u,
                                 eps_param(name, p, default_eps), float_dtype_code(in[0].dtype),
                                 float_dtype_code(in[1].dtype), float_dtype_code(bias_dtype)});
    ctx.launch(launch);
  };
  def.cases = [mode] {
    std::vector<OpCase> cases = norm_cases(mode == NormMode::LayerNorm ? 900 : 950);
    if (mode == NormMode::RmsNorm) {
      for (auto& c : cases) c.inputs.pop_back();  // no bias
    } else {
      cases.push_back(
          {"[5,33] no bias", {random_tensor(DType::F32, {5, 33}, 990), random_tensor(DType::F32, {33}, 991)}, {}});
      cases.push_back({"bf16 [5,33] no bias", {random_tensor(DType::BF16, {5, 33}, 992), random_tensor(DType::BF16, {33}, 993)}, {}});
    }
    return cases;
  };
  def.checks = {OutputCheck{}};
  return def;
}

// add_rmsnorm(x, r, weight) -> (h, y): h = x + r rounded into the dtype, y = rmsnorm(h, weight),
// what the add and rmsnorm ops give one after the other.
OpDef add_rmsnorm_op() {
  const std::string name = "add_rmsnorm";
  OpDef def;
  def.name = name;
  def.summary = "add_rmsnorm(x[...,D], r[...,D], weight[D]) -> (h = x + r, rmsnorm(h, weight)): float32/float16/bfloat16 "
                "(x and r one dtype, weight any), the residual add and LlamaRMSNorm in one pass; param eps (1e-6)";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams&) {
    if (in.size() != 3) op_error(name, "expects x, r, weight, got " + describe(in));
    const Rows r = rows_of(name, in[0]);
    if (in[1].dtype != in[0].dtype || in[1].shape != in[0].shape) op_error(name, "r must have x's dtype and shape: " + describe(in));
    nn::expect_float_shape(name, "weight", in[2], {r.dim});
    return std::vector<TensorSpec>{in[0], in[0]};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& p) {
    const Rows r = rows_of(name, {in[0].dtype(), in[0].shape()});
    const auto x = in[0].to_float_vector(), residual = in[1].to_float_vector(), w = in[2].to_float_vector();
    std::vector<float> sum(x.size());
    for (size_t i = 0; i < x.size(); ++i) sum[i] = x[i] + residual[i];
    const Tensor h = Tensor::from_floats(in[0].dtype(), in[0].shape(), sum);  // rounded into the dtype
    const std::vector<float> out =
        normalize_rows(NormMode::RmsNorm, in[0].dtype(), h.to_float_vector(), w, {}, r, eps_param(name, p, kRmsNormEps));
    return std::vector<Tensor>{h, Tensor::from_floats(in[0].dtype(), in[0].shape(), out)};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& p) {
    const Rows r = rows_of(name, {in[0].dtype, in[0].shape});
    KernelLaunch launch = nn::grid_rows("add_rmsnorm_rows", static_cast<uint64_t>(r.rows), kRowLocal);
    launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), in[2].buffer.get(), out[0].buffer.get(), out[1].buffer.get()};
    launch.set_params(NormParams{nn::u32(r.rows), nn::u32(r.dim), static_cast<uint32_t>(NormMode::RmsNorm), 0u,
                                 eps_param(name, p, kRmsNormEps), float_dtype_code(in[0].dtype), float_dtype_code(in[2].dtype),
                                 float_dtype_code(DType::F32)});
    ctx.launch(launch);
  };
  def.cases = [] {
    // rmsnorm's cases with a residual of x's dtype and shape inserted (the bias dropped); the
    // special-value rows meet a finite residual and, once, a residual of special values.
    std::vector<OpCase> cases = norm_cases(1100);
    uint32_t seed = 1200;
    for (auto& c : cases) {
      c.inputs.pop_back();
      c.inputs.insert(c.inputs.begin() + 1, random_tensor(c.inputs[0].dtype(), c.inputs[0].shape(), seed++, -2.0f, 2.0f));
    }
    cases.push_back({"[14,9] special values + special values",
                     {with_special_rows(random_tensor(DType::F32, {14, 9}, seed, -2.0f, 2.0f)),
                      with_special_rows(random_tensor(DType::F32, {14, 9}, seed + 1, -2.0f, 2.0f)),
                      random_tensor(DType::F32, {9}, seed + 2, 0.5f, 1.5f)},
                     {}});
    return cases;
  };
  def.checks = {OutputCheck{}, OutputCheck{}};
  return def;
}

// torch's softmax over a row (max-subtracted; see the top of the file for NaN and infinities).
void softmax_row(const float* x, int64_t dim, float* out) {
  const double m = *std::max_element(x, x + dim);
  double sum = 0.0;
  for (int64_t i = 0; i < dim; ++i) sum += std::exp(x[i] - m);
  for (int64_t i = 0; i < dim; ++i) out[i] = static_cast<float>(std::exp(x[i] - m) / sum);
}

OpDef softmax_op() {
  OpDef def;
  def.name = "softmax";
  def.summary = "softmax(x[...,D]): float32/float16/bfloat16, over the last dim, max-subtracted, output in x's dtype";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams&) {
    if (in.size() != 1) op_error("softmax", "expects one input, got " + describe(in));
    rows_of("softmax", in[0]);
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [](const std::vector<Tensor>& in, const OpParams&) {
    const Rows r = rows_of("softmax", {in[0].dtype(), in[0].shape()});
    const auto x = in[0].to_float_vector();
    std::vector<float> out(x.size());
    for (int64_t row = 0; row < r.rows; ++row) softmax_row(x.data() + row * r.dim, r.dim, out.data() + row * r.dim);
    return std::vector<Tensor>{Tensor::from_floats(in[0].dtype(), in[0].shape(), out)};
  };
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams&) {
    const Rows r = rows_of("softmax", {in[0].dtype, in[0].shape});
    KernelLaunch launch = nn::grid_rows("softmax_rows", static_cast<uint64_t>(r.rows), kRowLocal);
    launch.buffers = {in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(SoftmaxParams{nn::u32(r.rows), nn::u32(r.dim), float_dtype_code(in[0].dtype)});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 1000;
    for (const Shape& s : std::vector<Shape>{{1, 1}, {7, 31}, {3, 257}, {2, 1031}, {1, 4099}, {2, 3, 13}}) {
      cases.push_back({shape_to_string(s), {random_tensor(DType::F32, s, seed++, -4.0f, 4.0f)}, {}});
    }
    // Large logits: without the max subtraction exp overflows.
    cases.push_back({"[5,67] large", {random_tensor(DType::F32, {5, 67}, seed++, -90.0f, 90.0f)}, {}});
    // More rows than a grid dimension holds: the row index wraps into the second dimension.
    cases.push_back({"[65537,2]", {random_tensor(DType::F32, {65537, 2}, seed++, -4.0f, 4.0f)}, {}});
    for (DType dtype : kNarrowFloatDTypes) {
      for (const Shape& s : std::vector<Shape>{{7, 31}, {3, 257}, {2, 3, 13}}) {
        cases.push_back({dtype_tag(dtype) + shape_to_string(s), {random_tensor(dtype, s, seed++, -4.0f, 4.0f)}, {}});
      }
    }
    for (DType dtype : float_dtypes()) {
      cases.push_back({dtype_tag(dtype) + "[14,9] special values", {with_special_rows(random_tensor(dtype, {14, 9}, seed++, -4.0f, 4.0f))}, {}});
    }
    return cases;
  };
  def.checks = {OutputCheck{}};
  return def;
}

}  // namespace

void add_norm_ops(std::vector<OpDef>& ops) {
  ops.push_back(norm_op("layernorm", NormMode::LayerNorm));
  ops.push_back(norm_op("rmsnorm", NormMode::RmsNorm));
  ops.push_back(add_rmsnorm_op());
  ops.push_back(softmax_op());
}

}  // namespace pq::rt
