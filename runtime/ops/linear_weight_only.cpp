// Linear layers with quantized weights, dequantized inside the kernel (a float W is never
// materialized): y = x · W'ᵀ (+ bias), in x's dtype (float32/float16/bfloat16; float32 for
// int8/float8 codes), or in parameter `dtype`; the bias may have any float dtype.
//   linear_qbytes: 8-bit codes (qint8, qfloat8_*) [m, k] with one scale per row [m, 1];
//                  x float, or int8/float8 codes with a per-tensor `input_scale` (activations
//                  quantized by quanto); int8 x × int8 W accumulates in int32.
//   linear_qbits:  qint4/qint2 codes planar-packed along dim 0 of the grouped [m·k/G, G] code
//                  matrix (quanto's layout), W' = scale·q − shift per group.
// Arithmetic is float32 on every device (scales in f16/bf16 are widened, not rounded back), so
// the reference dequantizes in float32 too, and y is rounded into its dtype once.
// torch at the special values (x · Wᵀ as a sum of products): NaN in a row of x makes that output
// row NaN; an infinity gives ±inf, or NaN where it meets a zero weight or an infinity of the other
// sign. The references (double sums) and the kernels (float32 sums) agree on all of these.
#include "host/quant/affine.h"
#include "host/quant/packing.h"
#include "host/quant/quantized_weight.h"
#include "host/quant/symmetric.h"
#include "runtime/ops/linear_layout.h"
#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
namespace {

bool is_code_dtype(DType d) { return d == DType::I8 || is_float8(d); }

std::optional<QType> qtype_of_codes(DType d) {
  switch (d) {
    case DType::I8: return QType::QInt8;
    case DType::F8_E4M3FN: return QType::QFloat8_E4M3FN;
    case DType::F8_E4M3FNUZ: return QType::QFloat8_E4M3FNUZ;
    case DType::F8_E5M2: return QType::QFloat8_E5M2;
    default: return std::nullopt;
  }
}

uint32_t format_code(DType d) { return static_cast<uint32_t>(*elem_format(d)); }

// x as float32: codes times the activation scale (rounded to float32, as quanto dequantizes).
std::vector<float> reference_activation(const Tensor& x, const OpParams& params) {
  std::vector<float> v = x.to_float_vector();
  if (!is_code_dtype(x.dtype())) return v;
  const auto s = static_cast<float>(params.get("input_scale"));
  for (auto& e : v) e *= s;
  return v;
}

float activation_scale(const std::string& op, DType x, const OpParams& params) {
  if (!is_code_dtype(x)) {
    if (params.has("input_scale") && params.get("input_scale") != 1.0) {
      op_error(op, "input_scale applies to int8/float8 activations only, x is " + std::string(dtype_name(x)));
    }
    return 1.0f;
  }
  if (!params.has("input_scale")) {
    op_error(op, "quantized activations (" + std::string(dtype_name(x)) + ") need input_scale");
  }
  return static_cast<float>(params.get("input_scale"));
}

// ---- linear_qbytes ----------------------------------------------------------------------------

std::vector<TensorSpec> infer_qbytes(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& params) {
  if (in.size() < 3) op_error(op, "expects x, codes, scale[, bias], got " + describe(in));
  const TensorSpec& x = in[0];
  const TensorSpec& w = in[1];
  if (!is_code_dtype(x.dtype)) expect_float_activation(op, x);
  expect_rank_at_least(op, x, "x", 1);
  if (!is_code_dtype(w.dtype) || w.shape.size() != 2) {
    op_error(op, "codes must be int8 or float8 [m, k], got " + describe({w}));
  }
  const int64_t k = x.shape.back();
  const int64_t m = w.shape[0];
  if (w.shape[1] != k) op_error(op, "codes must have k=" + std::to_string(k) + " columns: " + describe(in));
  expect_scale_dtype(op, in[2], "scale");
  expect_numel(op, in[2], "scale (one per output row)", m);
  check_bias(op, in, 3, params, m);
  activation_scale(op, x.dtype, params);
  expect_u32_indexable(op, in);
  return {{output_dtype(op, x.dtype, params), with_last_dim(x.shape, m)}};
}

std::vector<Tensor> reference_qbytes(const std::vector<Tensor>& in, const OpParams& params) {
  const Tensor& codes = in[1];
  const int64_t m = codes.size(0), k = codes.size(1);
  const Tensor scale = in[2].to(DType::F32).reshape({m, 1});
  const std::vector<float> w = dequantize_symmetric(codes, scale, 0).to_float_vector();
  const auto bias = reference_bias(in, 3, params);
  const int64_t n = rows_of(in[0].shape());
  const auto y = reference_matmul(reference_activation(in[0], params), w, n, m, k, bias ? &*bias : nullptr);
  return {Tensor::from_floats(output_dtype("linear_qbytes", in[0].dtype(), params), with_last_dim(in[0].shape(), m), y)};
}

}  // namespace

LinearJob qbytes_job(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams& params) {
  LinearParams p;
  p.k = static_cast<uint32_t>(in[1].shape[1]);
  p.m = static_cast<uint32_t>(in[1].shape[0]);
  p.n = static_cast<uint32_t>(rows_of(in[0].shape));
  p.x_format = format_code(in[0].dtype);
  p.x_scale = activation_scale("linear_qbytes", in[0].dtype, params);
  p.w_format = format_code(in[1].dtype);
  p.scale_format = format_code(in[2].dtype);
  p.has_bias = in.size() > 3;
  p.bias_format = p.has_bias ? format_code(in[3].dtype) : 0;
  p.y_format = format_code(out[0].dtype);
  // int8 × int8 is exact in int32; any other pair is decoded and accumulated in float32.
  const bool integer = in[0].dtype == DType::I8 && in[1].dtype == DType::I8;
  const bool float_x = is_float_dtype(in[0].dtype);
  const WeightKind kind = integer                                      ? WeightKind::I8xI8
                          : in[1].dtype == DType::I8 && float_x          ? WeightKind::Q8
                          : is_float8(in[1].dtype) && float_x            ? WeightKind::F8
                                                                         : WeightKind::Generic;
  return {{in[0].buffer, in[1].buffer, in[2].buffer, nullptr, p.has_bias ? in[3].buffer : nullptr, out[0].buffer},
          p, integer ? Accumulate::Int : Accumulate::Float, 1, kind};
}

namespace {

void encode_qbytes(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                   const OpParams& params) {
  launch_linear(ctx, qbytes_job(in, out, params));
}

// ---- linear_qbits -----------------------------------------------------------------------------

struct QbitsLayout {
  int bits;
  int64_t group_size, groups, packed_rows, m, k;
  bool blocked;  // parameter layout=1: the codes are in the blocked device layout (linear_layout.h)
};

// Parameter layout: 0 quanto's planar packing (the default), 1 the blocked device layout.
bool blocked_layout_param(const std::string& op, const OpParams& params) {
  const int64_t layout = params.get_int("layout", 0);
  if (layout != 0 && layout != 1) op_error(op, "layout must be 0 (quanto's packing) or 1 (blocked), got " + std::to_string(layout));
  return layout == 1;
}

// G: the packed codes' columns in quanto's layout (parameter group_size, when given, must
// agree), parameter group_size in the blocked layout.
int64_t qbits_group_size(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& params, bool blocked) {
  const TensorSpec& packed = in[1];
  if (blocked) {
    if (!params.has("group_size")) op_error(op, "layout=1 needs parameter group_size");
    return params.get_int("group_size");
  }
  if (packed.dtype != DType::U8 || packed.shape.size() != 2 || packed.shape[1] == 0) {
    op_error(op, "packed codes must be uint8 [R, G], got " + describe({packed}));
  }
  if (params.has("group_size") && params.get_int("group_size") != packed.shape[1]) {
    op_error(op, "group_size=" + std::to_string(params.get_int("group_size")) + " but the packed codes have " +
                     std::to_string(packed.shape[1]) + " columns");
  }
  return packed.shape[1];
}

void check_packed_codes(const std::string& op, const std::vector<TensorSpec>& in, const QbitsLayout& l) {
  const TensorSpec& codes = in[1];
  if (l.blocked) {
    if (l.bits != 4 || !blocked_layout_supported(l.k, l.group_size, l.bits)) {
      op_error(op, "layout=1 holds int4 codes in groups of a multiple of 32, got bits=" + std::to_string(l.bits) +
                       " group_size=" + std::to_string(l.group_size));
    }
    if (codes.dtype != DType::U8 || codes.shape != blocked_shape(l.m, l.k, l.bits)) {
      op_error(op, "blocked codes of a [" + std::to_string(l.m) + ", " + std::to_string(l.k) + "] weight must be uint8 " +
                       shape_to_string(blocked_shape(l.m, l.k, l.bits)) + ": " + describe(in));
    }
  } else if (codes.shape[0] != l.packed_rows) {
    op_error(op, std::to_string(l.groups) + " groups pack into " + std::to_string(l.packed_rows) + " rows at " +
                     std::to_string(l.bits) + " bits, codes have " + std::to_string(codes.shape[0]) + ": " + describe(in));
  }
}

QbitsLayout qbits_layout(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& params) {
  if (in.size() < 4) op_error(op, "expects x, packed codes, scale, shift[, bias], got " + describe(in));
  expect_float_activation(op, in[0]);
  QbitsLayout l{};
  l.bits = static_cast<int>(params.get_int("bits", 0));
  if (l.bits != 4 && l.bits != 2) op_error(op, "bits must be 4 (qint4) or 2 (qint2), got " + std::to_string(l.bits));
  l.blocked = blocked_layout_param(op, params);
  l.k = in[0].shape.back();
  if (l.k == 0) op_error(op, "x must have k > 0: " + describe(in));
  l.group_size = qbits_group_size(op, in, params, l.blocked);
  if (l.group_size <= 0 || l.k % l.group_size != 0) {
    op_error(op, "group size " + std::to_string(l.group_size) + " must divide k: " + describe(in));
  }
  expect_scale_dtype(op, in[2], "scale");
  if (in[3].dtype != in[2].dtype) op_error(op, "shift must have scale's dtype: " + describe(in));
  const int64_t groups_per_row = l.k / l.group_size;
  if (l.blocked) {
    // Blocked scales and shifts hold the padding rows of the 8-row groups: m is a parameter.
    l.m = params.get_int("rows", 0);
    if (l.m < 1) op_error(op, "layout=1 needs parameter rows (the weight's output features)");
    l.groups = l.m * groups_per_row;
    const int64_t padded = blocked_shape(l.m, l.k, l.bits)[0] * groups_per_row;
    expect_numel(op, in[2], "blocked scale (one per group of every padded row)", padded);
    expect_numel(op, in[3], "blocked shift (one per group of every padded row)", padded);
  } else {
    l.groups = shape_numel(in[2].shape);
    expect_numel(op, in[3], "shift (one per group)", l.groups);
    if (l.groups % groups_per_row != 0) op_error(op, "scale must hold whole rows of k/G groups: " + describe(in));
    l.m = l.groups / groups_per_row;
  }
  l.packed_rows = packed_rows(l.groups, l.bits);
  check_packed_codes(op, in, l);
  return l;
}

std::vector<TensorSpec> infer_qbits(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& params) {
  const QbitsLayout l = qbits_layout(op, in, params);
  check_bias(op, in, 4, params, l.m);
  expect_u32_indexable(op, in);
  return {{output_dtype(op, in[0].dtype, params), with_last_dim(in[0].shape, l.m)}};
}

std::vector<Tensor> reference_qbits(const std::vector<Tensor>& in, const OpParams& params) {
  const QbitsLayout l = qbits_layout("linear_qbits", specs_of(in), params);
  const int64_t groups_per_row = l.k / l.group_size;
  const Tensor packed = l.blocked ? unpack_blocked_codes(in[1], l.m, l.k, l.group_size, l.bits) : in[1];
  const Tensor scale = l.blocked ? unpack_blocked_groups(in[2], l.m, groups_per_row) : in[2];
  const Tensor shift = l.blocked ? unpack_blocked_groups(in[3], l.m, groups_per_row) : in[3];
  const Tensor codes = unpack_codes(packed, l.bits, l.groups);
  const AffineParams affine{scale.to(DType::F32).reshape({l.groups, 1}), shift.to(DType::F32).reshape({l.groups, 1})};
  const std::vector<float> w = dequantize_affine(codes, affine).to_float_vector();
  const auto bias = reference_bias(in, 4, params);
  const auto y = reference_matmul(in[0].to_float_vector(), w, rows_of(in[0].shape()), l.m, l.k, bias ? &*bias : nullptr);
  return {Tensor::from_floats(output_dtype("linear_qbits", in[0].dtype(), params), with_last_dim(in[0].shape(), l.m), y)};
}

}  // namespace

LinearJob qbits_job(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams& params) {
  const QbitsLayout l = qbits_layout("linear_qbits", specs_of(in), params);
  LinearParams p;
  p.n = static_cast<uint32_t>(rows_of(in[0].shape));
  p.m = static_cast<uint32_t>(l.m);
  p.k = static_cast<uint32_t>(l.k);
  p.x_format = format_code(in[0].dtype);
  p.w_format = static_cast<uint32_t>(l.bits == 4 ? ElemFormat::U4 : ElemFormat::U2);
  p.scale_format = format_code(in[2].dtype);
  p.group_size = static_cast<uint32_t>(l.group_size);
  p.packed_rows = static_cast<uint32_t>(l.packed_rows);
  p.has_bias = in.size() > 4;
  p.bias_format = p.has_bias ? format_code(in[4].dtype) : 0;
  p.y_format = format_code(out[0].dtype);
  return {{in[0].buffer, in[1].buffer, in[2].buffer, in[3].buffer, p.has_bias ? in[4].buffer : nullptr, out[0].buffer},
          p, Accumulate::Float, 1, l.blocked ? WeightKind::Q4Blocked : WeightKind::Generic};
}

namespace {

void encode_qbits(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams& params) {
  launch_linear(ctx, qbits_job(in, out, params));
}

// ---- conformance cases ------------------------------------------------------------------------

struct CaseBuilder {
  uint32_t seed;
  std::vector<OpCase> cases;

  // x in `x_dtype`: a float dtype, or int8/float8 codes quantized per tensor by host code.
  void add_activation(OpCase& c, const CaseShape& s, DType x_dtype) {
    const Tensor x = random_tensor(DType::F32, {s.n, s.k}, seed++);
    if (!is_code_dtype(x_dtype)) {
      c.inputs.push_back(x.to(x_dtype));
      return;
    }
    const QType q = *qtype_of_codes(x_dtype);
    const Tensor scale = absmax_scale(x, q, std::nullopt);
    c.inputs.push_back(quantize_symmetric(x, q, std::nullopt, scale));
    c.params.set("input_scale", scale.to_float_vector()[0]);
    c.label += " x:" + std::string(dtype_name(x_dtype));
  }
  // The bias in x's dtype (float32 for quantized x), as a model keeps it.
  void add_bias(OpCase& c, const CaseShape& s, bool has_bias) {
    c.params.set("has_bias", has_bias);
    const DType x = c.inputs.front().dtype();
    if (has_bias) c.inputs.push_back(random_tensor(is_float_dtype(x) ? x : DType::F32, {s.m}, seed++));
    c.label += has_bias ? " +bias" : "";
  }
  // NaN, ±inf and -0 in x, one of each per few rows.
  void special_x(OpCase& c) {
    c.inputs.front() = with_special_values(c.inputs.front(), 53, 2);
    c.label += " special values";
  }
  Tensor weight(const CaseShape& s, DType dtype) { return random_tensor(DType::F32, {s.m, s.k}, seed++).to(dtype); }

  void qbytes(const CaseShape& s, QType q, DType x_dtype, bool has_bias, DType scale_dtype = DType::F32) {
    OpCase c{shape_label(s) + " " + std::string(qtype_name(q)), {}, {}};
    add_activation(c, s, x_dtype);
    if (x_dtype == DType::F16 || x_dtype == DType::BF16) c.label += " x:" + std::string(dtype_name(x_dtype));
    const QuantizedWeight w = quantize_weight(weight(s, scale_dtype), q);
    c.inputs.push_back(w.serialized_data());
    c.inputs.push_back(w.scale);
    if (scale_dtype != DType::F32) c.label += " scale:" + std::string(dtype_name(scale_dtype));
    add_bias(c, s, has_bias);
    cases.push_back(std::move(c));
  }

  // Every code of a float8 format, k = 256 (the specialised kernels' 16-wide loads). Finite
  // codes: row 0 all of them (zeros and subnormals included), row 1 the same and one NaN code,
  // row 2 all 256 codes, row 3 the finite ones and, for e5m2, +inf. Subnormal codes: every row
  // only zero-exponent codes, so that their values decide the outputs.
  void every_f8_code(int64_t n, QType q, bool subnormal_only) {
    constexpr int64_t k = 256, m = 4;
    const DType codes_dtype = qtype_info(q).storage;
    const auto value = [&](int c) {
      return Tensor::from_values(codes_dtype, {1}, std::vector<uint8_t>{static_cast<uint8_t>(c)}).to_float_vector()[0];
    };
    const int mbits = q == QType::QFloat8_E5M2 ? 2 : 3;
    const uint8_t nan_code = q == QType::QFloat8_E5M2 ? 0x7E : (q == QType::QFloat8_E4M3FNUZ ? 0x80 : 0x7F);
    std::vector<uint8_t> codes(static_cast<size_t>(m * k), 0);
    const auto at = [&](int64_t row, int64_t col) -> uint8_t& { return codes[static_cast<size_t>(row * k + col)]; };
    int64_t finite = 0, subnormal = 0;
    for (int c = 0; c < 256; ++c) {
      const bool is_finite = std::isfinite(value(c));
      if (subnormal_only) {
        if (is_finite && ((c & 0x7F) >> mbits) == 0) {
          for (int64_t row = 0; row < m; ++row) at(row, (subnormal * (2 * row + 1)) % k) = static_cast<uint8_t>(c);
          ++subnormal;
        }
        continue;
      }
      if (is_finite) at(0, finite) = at(1, finite) = static_cast<uint8_t>(c), ++finite;
      at(2, c) = static_cast<uint8_t>(c);
      at(3, c) = is_finite ? static_cast<uint8_t>(c) : 0;
    }
    if (!subnormal_only) {
      at(1, k - 1) = nan_code;
      if (q == QType::QFloat8_E5M2) at(3, k - 1) = 0x7C;  // +inf
    }
    OpCase c{"[" + std::to_string(n) + "," + std::to_string(k) + "] x " + (subnormal_only ? "subnormal " : "every ") +
                 std::string(qtype_name(q)) + " code",
             {}, {}};
    add_activation(c, {n, k, m}, DType::F32);
    c.inputs.push_back(Tensor::from_values(codes_dtype, {m, k}, codes));
    c.inputs.push_back(random_tensor(DType::F32, {m, 1}, seed++, 1e-3f, 1e-2f));
    add_bias(c, {n, k, m}, false);
    cases.push_back(std::move(c));
  }

  // group_size 0: one group per row.
  void qbits(const CaseShape& s, QType q, int group_size, DType x_dtype, bool has_bias, DType scale_dtype = DType::F32,
             Optimizer optimizer = Optimizer::Max) {
    const int g = group_size == 0 ? static_cast<int>(s.k) : group_size;
    OpCase c{shape_label(s) + " " + std::string(qtype_name(q)) + " G=" + std::to_string(g), {}, {}};
    add_activation(c, s, x_dtype);
    if (x_dtype != DType::F32) c.label += " x:" + std::string(dtype_name(x_dtype));
    QuantizeOptions options;
    options.group_size = group_size;
    options.optimizer = optimizer;
    // A single-row weight (m = 1, one group per row) is quanto's per-element layout: the op reads
    // it regrouped into groups of one, as the model runtime uploads it.
    const QuantizedWeight w = per_group_layout(quantize_weight(weight(s, scale_dtype), q, options));
    c.inputs.insert(c.inputs.end(), {w.serialized_data(), w.scale, w.shift});
    c.params.set("bits", w.bits());
    c.params.set("group_size", w.group_size.value_or(g));
    if (scale_dtype != DType::F32) c.label += " scale:" + std::string(dtype_name(scale_dtype));
    if (optimizer == Optimizer::Hqq) c.label += " hqq";
    add_bias(c, s, has_bias);
    cases.push_back(std::move(c));
  }

  // The last case with its int4 codes in the blocked device layout (layout=1), as the model
  // runtime uploads them.
  void blocked(const CaseShape& s) {
    OpCase c = cases.back();
    const int64_t g = c.params.get_int("group_size");
    c.inputs[1] = repack_blocked_codes(c.inputs[1], s.m, s.k, g, 4);
    c.inputs[2] = repack_blocked_groups(c.inputs[2], s.m, s.k / g);
    c.inputs[3] = repack_blocked_groups(c.inputs[3], s.m, s.k / g);
    c.params.set("layout", 1);
    c.params.set("rows", static_cast<double>(s.m));
    c.label += " blocked";
    cases.push_back(std::move(c));
  }
};

std::vector<OpCase> qbytes_cases() {
  CaseBuilder b{7000, {}};
  const QType qtypes[] = {QType::QInt8, QType::QFloat8_E4M3FN, QType::QFloat8_E4M3FNUZ, QType::QFloat8_E5M2};
  const auto& shapes = case_shapes();
  for (size_t q = 0; q < std::size(qtypes); ++q) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      b.qbytes(shapes[i], qtypes[q], i % 2 ? DType::F16 : DType::F32, (i + q) % 2 == 0);
    }
  }
  // More than 65535 GEMV workgroups: the grid wraps into a second dimension.
  b.qbytes({1, 16, 4 * 65535 + 7}, QType::QInt8, DType::F32, true);
  // A weight of 135 MB, above lavapipe's 128 MiB maxStorageBufferRange: bound a window of rows
  // at a time (Backend::view), for GEMV and a small GEMM.
  b.qbytes({1, 4096, 33000}, QType::QInt8, DType::F32, true);
  b.qbytes({9, 4096, 33000}, QType::QInt8, DType::F32, false);
  b.qbytes({3, 129, 7}, QType::QInt8, DType::F32, true, DType::F16);
  b.qbytes({9, 64, 257}, QType::QFloat8_E4M3FN, DType::F16, false, DType::BF16);
  b.qbytes({8, 320, 31}, QType::QInt8, DType::BF16, true);
  // Quantized activations: float8 and int8 codes (int8 × int8 takes the int32 kernels).
  b.qbytes({3, 129, 7}, QType::QFloat8_E4M3FN, DType::F8_E4M3FN, false);
  b.qbytes({9, 320, 31}, QType::QInt8, DType::F8_E5M2, true);
  b.qbytes({8, 64, 7}, QType::QFloat8_E4M3FN, DType::I8, true);
  b.qbytes({33, 129, 31}, QType::QFloat8_E4M3FNUZ, DType::F8_E4M3FNUZ, true);
  b.qbytes({3, 129, 7}, QType::QInt8, DType::I8, true);
  b.qbytes({33, 64, 31}, QType::QInt8, DType::I8, false);
  // bfloat16 activations on both kernels, and a float16 output from float8 codes (parameter dtype).
  b.qbytes({3, 129, 7}, QType::QFloat8_E5M2, DType::BF16, true, DType::BF16);
  b.qbytes({33, 320, 31}, QType::QInt8, DType::BF16, false);
  b.qbytes({9, 320, 31}, QType::QFloat8_E4M3FN, DType::F8_E4M3FN, true);
  b.cases.back().params.set("dtype", 1);
  b.cases.back().label += " -> float16";
  for (DType dtype : float_dtypes()) {
    for (const CaseShape& s : {CaseShape{3, 129, 7}, CaseShape{33, 64, 31}}) {
      b.qbytes(s, QType::QInt8, dtype, true);
      b.special_x(b.cases.back());
    }
  }
  for (QType q : {QType::QFloat8_E4M3FN, QType::QFloat8_E4M3FNUZ, QType::QFloat8_E5M2}) {
    for (int64_t n : {1, 9}) {  // the GEMV and the GEMM kernels
      b.every_f8_code(n, q, false);
      b.every_f8_code(n, q, true);
    }
  }
  return b.cases;
}

// k=64: several groups per row (G=32) or one; k=129: per row; k=320: G=64; k=4096: G=128.
int group_for(const CaseShape& s) {
  switch (s.k) {
    case 64: return s.m > 1 ? 32 : 0;
    case 129: return 0;
    case 320: return 64;
    default: return 128;
  }
}

// int4 in the blocked layout (G a multiple of 32) on the GEMV and GEMM kernels: every n of
// the edge, m not a multiple of the 8-row groups, each x and scale dtype, HQQ shifts, special values.
void add_blocked_cases(CaseBuilder& b) {
  const auto& shapes = case_shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const CaseShape& s = shapes[i];
    if (s.m == 1 || group_for(s) == 0 || group_for(s) % 32 != 0) continue;
    b.qbits(s, QType::QInt4, group_for(s), i % 3 == 0 ? DType::F32 : (i % 3 == 1 ? DType::F16 : DType::BF16), i % 2 == 0);
    b.blocked(s);
  }
  for (const CaseShape& s : {CaseShape{2, 64, 9}, CaseShape{4, 128, 17}, CaseShape{5, 96, 3}, CaseShape{7, 64, 16}}) {
    b.qbits(s, QType::QInt4, 32, DType::F32, true);
    b.blocked(s);
  }
  b.qbits({3, 320, 31}, QType::QInt4, 64, DType::F16, true, DType::F16);
  b.blocked({3, 320, 31});
  b.qbits({33, 320, 31}, QType::QInt4, 64, DType::BF16, false, DType::BF16, Optimizer::Hqq);
  b.blocked({33, 320, 31});
  for (DType dtype : float_dtypes()) {
    for (const CaseShape& s : {CaseShape{3, 64, 31}, CaseShape{33, 64, 31}}) {
      b.qbits(s, QType::QInt4, 32, dtype, true);
      b.special_x(b.cases.back());
      b.blocked(s);
    }
  }
}

std::vector<OpCase> qbits_cases() {
  CaseBuilder b{8000, {}};
  const auto& shapes = case_shapes();
  for (QType q : {QType::QInt4, QType::QInt2}) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      b.qbits(shapes[i], q, group_for(shapes[i]), i % 2 ? DType::F16 : DType::F32, (i + (q == QType::QInt2)) % 2 == 0);
    }
  }
  b.qbits({3, 129, 7}, QType::QInt4, 0, DType::F32, true, DType::F16);
  b.qbits({9, 320, 257}, QType::QInt2, 64, DType::BF16, false, DType::BF16);
  b.qbits({8, 320, 31}, QType::QInt4, 64, DType::F32, true, DType::F32, Optimizer::Hqq);
  b.qbits({33, 129, 7}, QType::QInt4, 0, DType::BF16, true, DType::BF16);
  b.qbits({3, 64, 31}, QType::QInt2, 32, DType::F16, true, DType::F16);
  for (DType dtype : float_dtypes()) {
    for (const CaseShape& s : {CaseShape{3, 129, 7}, CaseShape{33, 64, 31}}) {
      b.qbits(s, QType::QInt4, group_for(s), dtype, true);
      b.special_x(b.cases.back());
    }
  }
  add_blocked_cases(b);
  return b.cases;
}

}  // namespace

void add_weight_only_linear_ops(std::vector<OpDef>& ops) {
  OpDef qbytes;
  qbytes.name = "linear_qbytes";
  qbytes.summary = "linear_qbytes(x, codes, scale[, bias]; has_bias, input_scale, dtype): y = x·(scale·codes)ᵀ + bias, "
                   "int8/float8 codes [m,k] with a scale per row; x float32/float16/bfloat16 or int8/float8 codes; y in "
                   "x's dtype (float32 for codes) unless dtype (0/1/2) says otherwise";
  qbytes.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) { return infer_qbytes("linear_qbytes", in, p); };
  qbytes.reference = reference_qbytes;
  qbytes.encode = encode_qbytes;
  qbytes.cases = qbytes_cases;
  qbytes.checks = {OutputCheck{}};
  qbytes.reads_tiers = true;
  ops.push_back(std::move(qbytes));

  OpDef qbits;
  qbits.name = "linear_qbits";
  qbits.summary = "linear_qbits(x, packed, scale, shift[, bias]; bits, group_size, has_bias, dtype, layout, rows): "
                  "y = x·W'ᵀ + bias, W' = scale·q − shift per group of G, qint4/qint2 codes planar-packed as quanto "
                  "stores them (layout=0), or int4 codes, scales and shifts of a [rows, k] weight in the blocked device "
                  "layout (layout=1, runtime/ops/linear_layout.h); x float32/float16/bfloat16, y in x's dtype unless "
                  "dtype (0/1/2) says otherwise";
  qbits.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) { return infer_qbits("linear_qbits", in, p); };
  qbits.reference = reference_qbits;
  qbits.encode = encode_qbits;
  qbits.reads_tiers = true;
  qbits.cases = qbits_cases;
  qbits.checks = {OutputCheck{}};
  ops.push_back(std::move(qbits));
}

}  // namespace pq::rt::linear
