// int8 activations × int8 weights with int32 accumulation (quanto's W8A8 with qint8 activations):
//   linear_w8a8:   y = acc · (input_scale · w_scale[row]) + bias, float32 (or float16/bfloat16:
//                  parameter dtype, the dtype of the model the activations were quantized from);
//   matmul_i8_i32: the raw int32 accumulators acc = x_codes · w_codesᵀ (exact).
#include <random>

#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
namespace {

// |acc| ≤ 128·128·k must stay below 2^31.
constexpr int64_t kMaxK = (int64_t{1} << 31) / (128 * 128) - 1;

struct I8Shapes {
  int64_t n, m, k;
};

I8Shapes check_i8_operands(const std::string& op, const std::vector<TensorSpec>& in) {
  if (in.size() < 2) op_error(op, "expects int8 x [.., k] and int8 w [m, k], got " + describe(in));
  const TensorSpec& x = in[0];
  const TensorSpec& w = in[1];
  if (x.dtype != DType::I8 || x.shape.empty()) op_error(op, "x must be int8 [.., k], got " + describe({x}));
  if (w.dtype != DType::I8 || w.shape.size() != 2 || w.shape[1] != x.shape.back()) {
    op_error(op, "w must be int8 [m, k] with x's k, got " + describe(in));
  }
  if (w.shape[1] > kMaxK) op_error(op, "k above " + std::to_string(kMaxK) + " could overflow int32: " + describe(in));
  expect_u32_indexable(op, in);
  return {rows_of(x.shape), w.shape[0], w.shape[1]};
}

// Exact x_codes · w_codesᵀ.
std::vector<int64_t> int_accumulators(const Tensor& x, const Tensor& w, const I8Shapes& s) {
  const Tensor xc = x.contiguous(), wc = w.contiguous();
  const int8_t* xa = xc.data<int8_t>();
  const int8_t* wa = wc.data<int8_t>();
  std::vector<int64_t> acc(static_cast<size_t>(s.n * s.m));
  for (int64_t i = 0; i < s.n; ++i) {
    for (int64_t j = 0; j < s.m; ++j) {
      int64_t sum = 0;
      for (int64_t c = 0; c < s.k; ++c) sum += int64_t{xa[i * s.k + c]} * wa[j * s.k + c];
      acc[static_cast<size_t>(i * s.m + j)] = sum;
    }
  }
  return acc;
}

LinearParams int_params(const std::vector<DeviceTensor>& in) {
  LinearParams p;
  p.n = static_cast<uint32_t>(rows_of(in[0].shape));
  p.m = static_cast<uint32_t>(in[1].shape[0]);
  p.k = static_cast<uint32_t>(in[1].shape[1]);
  p.x_format = static_cast<uint32_t>(ElemFormat::I8);
  p.w_format = static_cast<uint32_t>(ElemFormat::I8);
  return p;
}

// ---- linear_w8a8 ------------------------------------------------------------------------------

std::vector<TensorSpec> infer_w8a8(const std::vector<TensorSpec>& in, const OpParams& params) {
  const std::string op = "linear_w8a8";
  const I8Shapes s = check_i8_operands(op, in);
  if (in.size() < 3) op_error(op, "expects x, w, w_scale[, bias], got " + describe(in));
  expect_scale_dtype(op, in[2], "w_scale");
  expect_numel(op, in[2], "w_scale (one per output row)", s.m);
  check_bias(op, in, 3, params, s.m);
  if (!params.has("input_scale")) op_error(op, "needs the activation scale: parameter input_scale");
  return {{output_dtype(op, in[0].dtype, params), with_last_dim(in[0].shape, s.m)}};
}

std::vector<Tensor> reference_w8a8(const std::vector<Tensor>& in, const OpParams& params) {
  const I8Shapes s = check_i8_operands("linear_w8a8", specs_of(in));
  const auto acc = int_accumulators(in[0], in[1], s);
  const std::vector<float> w_scale = in[2].to_float_vector();
  const auto bias = reference_bias(in, 3, params);
  const double input_scale = static_cast<float>(params.get("input_scale"));
  std::vector<float> y(acc.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const size_t col = i % static_cast<size_t>(s.m);
    const double v = static_cast<double>(acc[i]) * input_scale * w_scale[col];
    y[i] = static_cast<float>(bias ? v + (*bias)[col] : v);
  }
  return {Tensor::from_floats(output_dtype("linear_w8a8", in[0].dtype(), params), with_last_dim(in[0].shape(), s.m), y)};
}

void encode_w8a8(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                 const OpParams& params) {
  LinearParams p = int_params(in);
  p.x_scale = static_cast<float>(params.get("input_scale"));
  p.scale_format = static_cast<uint32_t>(*elem_format(in[2].dtype));
  p.has_bias = in.size() > 3;
  p.bias_format = p.has_bias ? static_cast<uint32_t>(*elem_format(in[3].dtype)) : 0;
  p.y_format = static_cast<uint32_t>(*elem_format(out[0].dtype));
  launch_linear(ctx, {in[0].buffer, in[1].buffer, in[2].buffer, nullptr,
                      p.has_bias ? in[3].buffer : nullptr, out[0].buffer},
                p, Accumulate::Int, 1, WeightKind::I8xI8);
}

// ---- matmul_i8_i32 ----------------------------------------------------------------------------

std::vector<TensorSpec> infer_i32(const std::vector<TensorSpec>& in, const OpParams&) {
  const I8Shapes s = check_i8_operands("matmul_i8_i32", in);
  if (in.size() != 2) op_error("matmul_i8_i32", "expects x and w only, got " + describe(in));
  return {{DType::I32, with_last_dim(in[0].shape, s.m)}};
}

std::vector<Tensor> reference_i32(const std::vector<Tensor>& in, const OpParams&) {
  const I8Shapes s = check_i8_operands("matmul_i8_i32", specs_of(in));
  const auto acc = int_accumulators(in[0], in[1], s);
  const std::vector<int32_t> y(acc.begin(), acc.end());
  return {Tensor::from_values(DType::I32, with_last_dim(in[0].shape(), s.m), y)};
}

void encode_i32(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                const OpParams&) {
  LinearParams p = int_params(in);
  p.raw_int = 1;
  launch_linear(ctx, {in[0].buffer, in[1].buffer, nullptr, nullptr, nullptr, out[0].buffer}, p,
                Accumulate::Int, 1, WeightKind::I8xI8);
}

// ---- conformance cases ------------------------------------------------------------------------

Tensor random_codes(Shape shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<int8_t> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& e : v) e = static_cast<int8_t>(code(rng));
  return Tensor::from_values(DType::I8, std::move(shape), v);
}

Tensor filled_codes(Shape shape, int8_t value) {
  return Tensor::from_values(DType::I8, shape, std::vector<int8_t>(static_cast<size_t>(shape_numel(shape)), value));
}

std::vector<OpCase> w8a8_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 9000;
  const auto& shapes = case_shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const CaseShape& s = shapes[i];
    const bool bias = i % 2 == 0;
    const DType scale_dtype = i == 1 ? DType::F16 : (i == 4 ? DType::BF16 : DType::F32);
    std::string label = shape_label(s) + (bias ? " +bias" : "");
    if (scale_dtype != DType::F32) label += " scale:" + std::string(dtype_name(scale_dtype));
    OpCase c{label,
             {random_codes({s.n, s.k}, seed), random_codes({s.m, s.k}, seed + 1),
              random_tensor(DType::F32, {s.m, 1}, seed + 2, 1e-4f, 1e-2f).to(scale_dtype)},
             {{"input_scale", 0.0123}, {"has_bias", bias}}};
    if (bias) c.inputs.push_back(random_tensor(DType::F32, {s.m}, seed + 3));
    seed += 4;
    cases.push_back(std::move(c));
  }
  // float16/bfloat16 outputs with a bias in that dtype, on the GEMV and the GEMM kernels.
  for (DType dtype : kNarrowFloatDTypes) {
    for (const CaseShape& s : {CaseShape{3, 129, 7}, CaseShape{33, 64, 31}}) {
      cases.push_back({shape_label(s) + " +bias -> " + std::string(dtype_name(dtype)),
                       {random_codes({s.n, s.k}, seed), random_codes({s.m, s.k}, seed + 1),
                        random_tensor(dtype, {s.m, 1}, seed + 2, 1e-4f, 1e-2f), random_tensor(dtype, {s.m}, seed + 3)},
                       {{"input_scale", 0.0123}, {"has_bias", 1}, {"dtype", static_cast<double>(float_dtype_code(dtype))}}});
      seed += 4;
    }
  }
  return cases;
}

std::vector<OpCase> i32_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 9500;
  for (const CaseShape& s : case_shapes()) {
    cases.push_back({shape_label(s), {random_codes({s.n, s.k}, seed), random_codes({s.m, s.k}, seed + 1)}, {}});
    seed += 2;
  }
  // The largest magnitudes: (-128)·(-128)·4096 = 2^26, on the GEMV and the GEMM kernels.
  for (const CaseShape& s : {CaseShape{1, 4096, 7}, CaseShape{9, 4096, 7}}) {
    cases.push_back({shape_label(s) + " all -128", {filled_codes({s.n, s.k}, -128), filled_codes({s.m, s.k}, -128)}, {}});
  }
  cases.push_back({"x [2,3,64] (leading dims)", {random_codes({2, 3, 64}, seed), random_codes({5, 64}, seed + 1)}, {}});
  return cases;
}

}  // namespace

void add_int8_linear_ops(std::vector<OpDef>& ops) {
  OpDef w8a8;
  w8a8.name = "linear_w8a8";
  w8a8.summary = "linear_w8a8(x, w, w_scale[, bias]; input_scale, has_bias, dtype): int8 x [..,k] × int8 w [m,k], "
                 "int32 accumulation, y = acc·input_scale·w_scale[row] + bias, float32 unless dtype (0/1/2) says otherwise";
  w8a8.infer = infer_w8a8;
  w8a8.reference = reference_w8a8;
  w8a8.encode = encode_w8a8;
  w8a8.cases = w8a8_cases;
  w8a8.checks = {OutputCheck{}};
  w8a8.reads_tiers = true;
  ops.push_back(std::move(w8a8));

  OpDef i32;
  i32.name = "matmul_i8_i32";
  i32.summary = "matmul_i8_i32(x, w): int32 accumulators of int8 x [..,k] · int8 w [m,k]ᵀ";
  i32.infer = infer_i32;
  i32.reference = reference_i32;
  i32.encode = encode_i32;
  i32.cases = i32_cases;
  i32.checks = {OutputCheck{.exact = true}};
  i32.reads_tiers = true;
  ops.push_back(std::move(i32));
}

}  // namespace pq::rt::linear
