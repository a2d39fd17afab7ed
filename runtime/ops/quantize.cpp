// The quantize family: symmetric 8-bit weights (int8, float8), group-wise affine 2/4-bit
// weights with optimum-quanto's planar packing, and static per-tensor activations. The
// references are host/quant's functions; the kernels (cl/quantize.cl, shaders/quantize.comp)
// match them bit for bit, float outputs included, so every output is checked exactly.
// At the special values they follow torch's clamp-then-cast: NaN gives int8/uint8 code 0 (torch's
// NaN-to-integer cast) and the float8 NaN code; ±inf saturate to the extreme code (e4m3fnuz:
// its ±240); -0 gives code 0, or float8's -0 where the format has one. Dequantizing a NaN or
// infinite float8 code gives NaN or ±inf.
#include <cmath>
#include <optional>

#include "host/float_format.h"
#include "host/quant/affine.h"
#include "host/quant/packing.h"
#include "host/quant/symmetric.h"
#include "runtime/ops/op_families.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

// ---- kernel parameters (the same layout as the structs of cl/quantize.cl) -----------------

enum class ScaleMode : uint32_t { PerRow = 0, PerColumn = 1, PerTensor = 2 };
// Code kinds; float8 codes are named by their host FloatFormat number (2, 3, 4).
constexpr uint32_t kCodeInt8 = 0;
constexpr uint32_t kCodeUint = 1;

struct QuantizeParams {
  uint32_t n, inner, scale_mode, x_dtype, s_dtype, code;
  float qmin, qmax;
};
struct DequantizeParams {
  uint32_t n, inner, scale_mode, s_dtype, code, bits, packed_rows;
};
struct PackParams {
  uint32_t n, cols, rows, packed_rows, bits;
};
struct UnpackParams {
  uint32_t n, cols, packed_rows, bits;
};

// ---- parameter and shape checks ------------------------------------------------------------

uint32_t code_kind(DType codes) {
  return codes == DType::I8 ? kCodeInt8 : static_cast<uint32_t>(float_format_of(codes));
}

int64_t int_param(const std::string& op, const OpParams& params, const std::string& name, std::vector<int64_t> valid) {
  const double v = params.get(name, std::nan(""));
  for (int64_t x : valid) {
    if (v == static_cast<double>(x)) return x;
  }
  std::string list;
  for (int64_t x : valid) list += (list.empty() ? "" : ", ") + std::to_string(x);
  op_error(op, "parameter " + name + " must be one of " + list + ", got " + params.to_string());
}

// qtype: the pq::QType number of an 8-bit qtype (2 qint8, 3 e4m3fn, 4 e4m3fnuz, 5 e5m2).
QType qtype_param(const std::string& op, const OpParams& params) {
  return static_cast<QType>(int_param(op, params, "qtype", {2, 3, 4, 5}));
}

// axis: 0 (a scale per row), -1 (per column) or 2 (per tensor).
std::optional<int> axis_param(const std::string& op, const OpParams& params) {
  const int64_t axis = int_param(op, params, "axis", {0, -1, 2});
  return axis == 2 ? std::nullopt : std::optional<int>(static_cast<int>(axis));
}

int bits_param(const std::string& op, const OpParams& params) {
  return static_cast<int>(int_param(op, params, "bits", {2, 4}));
}

void expect_2d(const std::string& op, const std::string& what, const TensorSpec& spec) {
  if (spec.shape.size() != 2) op_error(op, what + " must be 2-D, got " + describe({spec}));
}

// A scale-like input of `shape`; one value may come in any shape of one element.
void expect_param_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape,
                        const std::vector<TensorSpec>& all) {
  if (spec.shape != shape && !(shape_numel(shape) == 1 && shape_numel(spec.shape) == 1)) {
    op_error(op, what + " must have shape " + shape_to_string(shape) + ": " + describe(all));
  }
}

void expect_index_range(const std::string& op, const std::vector<TensorSpec>& specs) {
  for (const auto& s : specs) {
    if (shape_numel(s.shape) >= (int64_t{1} << 31)) op_error(op, "tensors must have fewer than 2^31 elements: " + describe({s}));
  }
}

ScaleMode scale_mode(std::optional<int> axis) {
  if (!axis) return ScaleMode::PerTensor;
  return *axis == 0 ? ScaleMode::PerRow : ScaleMode::PerColumn;
}

Shape symmetric_scale_shape(const Shape& w, std::optional<int> axis) {
  if (!axis) return {};
  return *axis == 0 ? Shape{w[0], 1} : Shape{1, w[1]};
}

// W [rows, cols] (float) and its scale for the axis, both of one float dtype.
void check_symmetric_inputs(const std::string& op, const std::vector<TensorSpec>& in, std::optional<int> axis,
                            DType codes_or_weight) {
  expect_2d(op, "input 0", in[0]);
  if (!is_float_dtype(in[1].dtype)) op_error(op, "scale must be float32, float16 or bfloat16: " + describe(in));
  expect_param_shape(op, "scale", in[1], symmetric_scale_shape(in[0].shape, axis), in);
  if (is_float_dtype(codes_or_weight) && codes_or_weight != in[1].dtype) {
    op_error(op, "weight and scale must have the same dtype: " + describe(in));
  }
  expect_index_range(op, in);
}

KernelLaunch words_grid(std::string kernel, int64_t elements) {
  // 4 elements (one 32-bit word of codes) per work-item.
  return grid_1d(std::move(kernel), ceil_div(static_cast<uint64_t>(elements), 4), 64);
}

// ---- encoders -------------------------------------------------------------------------------

void launch_quantize(EncodeContext& ctx, const DeviceTensor& x, const DeviceTensor& scale, const DeviceTensor* shift,
                     const DeviceTensor& out, QuantizeParams p) {
  p.n = static_cast<uint32_t>(x.numel());
  p.x_dtype = float_dtype_code(x.dtype);
  p.s_dtype = float_dtype_code(scale.dtype);
  KernelLaunch launch = words_grid("quantize_codes", x.numel());
  // Without a shift the scale is bound in its place: the kernel does not read it.
  launch.buffers = {x.buffer.get(), scale.buffer.get(), (shift ? shift : &scale)->buffer.get(), out.buffer.get()};
  launch.set_params(p);
  ctx.launch(launch);
}

void launch_dequantize(EncodeContext& ctx, const DeviceTensor& codes, const DeviceTensor& scale, const DeviceTensor* shift,
                       const DeviceTensor& out, DequantizeParams p) {
  p.n = static_cast<uint32_t>(out.numel());
  p.s_dtype = float_dtype_code(scale.dtype);
  KernelLaunch launch = words_grid("dequantize_codes", out.numel());
  launch.buffers = {codes.buffer.get(), scale.buffer.get(), (shift ? shift : &scale)->buffer.get(), out.buffer.get()};
  launch.set_params(p);
  ctx.launch(launch);
}

QuantizeParams symmetric_params(QType qtype, uint32_t inner, ScaleMode mode) {
  const QTypeInfo& info = qtype_info(qtype);
  const uint32_t code = info.is_floating_point ? static_cast<uint32_t>(float_format_of(info.storage)) : kCodeInt8;
  return {0, inner, static_cast<uint32_t>(mode), 0, 0, code, info.qmin, info.qmax};
}

// ---- conformance inputs ---------------------------------------------------------------------

std::string shape_label(DType dtype, const Shape& shape) { return std::string(dtype_name(dtype)) + shape_to_string(shape); }

// Random weights with a zero row (rows > 2) and a negative zero, the edges quantizers meet.
Tensor test_weight(DType dtype, const Shape& shape, uint32_t seed) {
  std::vector<float> w = random_tensor(DType::F32, shape, seed).to_float_vector();
  if (shape[0] > 2) std::fill(w.begin(), w.begin() + shape[1], 0.0f);
  if (w.size() > 1) w[w.size() / 2] = -0.0f;
  return Tensor::from_floats(dtype, shape, w);
}

// Values of W/s that sit on every rounding decision of a qtype: halves k+0.5 and ±qmax
// neighbours for int8; for float8, every midpoint between neighbouring codes (ties to even),
// values under half the smallest subnormal (signed zeros), and values past the saturation.
std::vector<float> edge_quotients(QType qtype) {
  std::vector<float> v = {0.0f, -0.0f, 1e6f, -1e6f, 65519.0f, -65520.0f, 3e4f};
  const QTypeInfo& info = qtype_info(qtype);
  if (!info.is_floating_point) {
    for (int k = -130; k <= 129; ++k) v.push_back(static_cast<float>(k) + 0.5f);
    for (float q : {-128.0f, 127.0f, 128.0f, -129.0f}) v.push_back(q);
    return v;
  }
  const FloatFormat f = float_format_of(info.storage);
  for (uint16_t c = 0; c + 1 < 0x80; ++c) {
    const float a = decode_float(f, c), b = decode_float(f, static_cast<uint16_t>(c + 1));
    if (!std::isfinite(a) || !std::isfinite(b)) break;
    v.push_back(a);
    v.push_back(-(a + b) / 2);
    v.push_back((a + b) / 2);
  }
  const float smallest = decode_float(f, 1);
  for (float x : {smallest / 4, -smallest / 4, info.qmax, -info.qmax, info.qmax * 1.03f, -info.qmax * 1.1f}) v.push_back(x);
  return v;
}

// W = target * scale of its element, rounded into `dtype`: with power-of-two scales the
// targets are exact quotients (ties stay ties); with other scales W/s lands within an ulp of
// the target, which is where an inexact division would pick the wrong code.
Tensor weight_for_quotients(DType dtype, const Shape& shape, const std::vector<float>& targets, const Tensor& scale,
                            std::optional<int> axis) {
  const std::vector<float> s = scale.to_float_vector();
  std::vector<float> w(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t si = !axis ? 0 : *axis == 0 ? i / static_cast<size_t>(shape[1]) : i % static_cast<size_t>(shape[1]);
    w[i] = targets[i % targets.size()] * s[si];
  }
  return Tensor::from_floats(dtype, shape, w);
}

// Scales 2^-k (k in 3..6) per scale index.
Tensor power_of_two_scale(DType dtype, const Shape& shape) {
  std::vector<float> s(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < s.size(); ++i) s[i] = std::ldexp(1.0f, -3 - static_cast<int>(i % 4));
  return Tensor::from_floats(dtype, shape, s);
}

std::string axis_label(std::optional<int> axis) { return !axis ? "per-tensor" : *axis == 0 ? "axis 0" : "axis -1"; }

OpParams symmetric_case_params(QType qtype, std::optional<int> axis) {
  return {{"qtype", static_cast<double>(qtype)}, {"axis", axis ? *axis : 2.0}};
}

std::vector<QType> eight_bit_qtypes() {
  return {QType::QInt8, QType::QFloat8_E4M3FN, QType::QFloat8_E4M3FNUZ, QType::QFloat8_E5M2};
}

// [W, scale] cases of one qtype and dtype: random weights with absmax scales over odd shapes,
// exact ties (power-of-two scales), and near ties (absmax scales, W = round(target * s)).
std::vector<OpCase> symmetric_weight_cases(QType qtype, DType dtype, uint32_t& seed) {
  struct ShapeAxis {
    Shape shape;
    std::optional<int> axis;
  };
  const std::vector<ShapeAxis> random_shapes = {{{1, 1}, std::nullopt}, {{7, 13}, 0},  {{5, 129}, -1},
                                                {{3, 4099}, 0},         {{13, 1}, 0},  {{1, 31}, 0},
                                                {{31, 7}, std::nullopt}};
  std::vector<OpCase> cases;
  const std::string tag = std::string(qtype_name(qtype)) + " ";
  for (const auto& [shape, axis] : random_shapes) {
    const Tensor w = test_weight(dtype, shape, seed++);
    cases.push_back({tag + shape_label(dtype, shape) + " " + axis_label(axis), {w, absmax_scale(w, qtype, axis)},
                     symmetric_case_params(qtype, axis)});
  }
  const std::vector<float> targets = edge_quotients(qtype);
  const std::vector<ShapeAxis> tie_shapes = {{{7, 64}, 0}, {{16, 13}, -1}, {{3, 101}, std::nullopt}};
  for (const auto& [shape, axis] : tie_shapes) {
    const Tensor scale = power_of_two_scale(dtype, symmetric_scale_shape(shape, axis));
    cases.push_back({tag + shape_label(dtype, shape) + " ties " + axis_label(axis),
                     {weight_for_quotients(dtype, shape, targets, scale, axis), scale}, symmetric_case_params(qtype, axis)});
  }
  for (const auto& [shape, axis] : std::vector<ShapeAxis>{{{5, 129}, 0}, {{3, 4099}, -1}}) {
    const Tensor scale = absmax_scale(test_weight(dtype, shape, seed++), qtype, axis);
    cases.push_back({tag + shape_label(dtype, shape) + " near ties " + axis_label(axis),
                     {weight_for_quotients(dtype, shape, targets, scale, axis), scale}, symmetric_case_params(qtype, axis)});
  }
  // NaN, ±inf and -0 weights, with the scales of the weight without them.
  const Tensor w = test_weight(dtype, {7, 13}, seed++);
  cases.push_back({tag + shape_label(dtype, {7, 13}) + " special values axis 0",
                   {with_special_values(w, 5, 1), absmax_scale(w, qtype, 0)}, symmetric_case_params(qtype, 0)});
  return cases;
}

// Every byte value as a code (NaN and infinite float8 codes included), rows of scales spread
// over 2^-24..2^7 so products reach f16 subnormals and overflow f16 to infinity.
std::pair<Tensor, Tensor> all_codes_case(QType qtype, DType dtype, uint32_t seed) {
  const DType storage = qtype_info(qtype).storage;
  std::vector<uint8_t> codes(256);
  for (int c = 0; c < 256; ++c) codes[static_cast<size_t>(c)] = static_cast<uint8_t>(c);
  std::vector<float> scale = random_tensor(DType::F32, {16}, seed, 1.0f, 2.0f).to_float_vector();
  for (size_t r = 0; r < scale.size(); ++r) scale[r] = std::ldexp(scale[r], -24 + 2 * static_cast<int>(r));
  return {Tensor::from_values(storage, {16, 16}, codes), Tensor::from_floats(dtype, {16, 1}, scale)};
}

// ---- quantize_symmetric / dequantize_symmetric / quantize_activation ----------------------------

OpDef quantize_symmetric_op() {
  const std::string name = "quantize_symmetric";
  OpDef def;
  def.name = name;
  def.summary = name + "(W [rows,cols] f32/f16/bf16, scale) qtype=2..5 axis=0|-1|2(per tensor): int8/float8 codes";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    if (in.size() != 2 || !is_float_dtype(in[0].dtype)) op_error(name, "expects a float weight and its scale: " + describe(in));
    const QType qtype = qtype_param(name, params);
    check_symmetric_inputs(name, in, axis_param(name, params), in[0].dtype);
    return std::vector<TensorSpec>{{qtype_info(qtype).storage, in[0].shape}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    return std::vector<Tensor>{quantize_symmetric(in[0], qtype_param(name, params), axis_param(name, params), in[1])};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    const auto axis = axis_param(name, params);
    const auto cols = static_cast<uint32_t>(in[0].shape[1]);
    launch_quantize(ctx, in[0], in[1], nullptr, out[0], symmetric_params(qtype_param(name, params), cols, scale_mode(axis)));
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 4000;
    for (QType qtype : eight_bit_qtypes()) {
      for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        for (auto& c : symmetric_weight_cases(qtype, dtype, seed)) cases.push_back(std::move(c));
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

OpDef dequantize_symmetric_op() {
  const std::string name = "dequantize_symmetric";
  OpDef def;
  def.name = name;
  def.summary = name + "(codes [rows,cols] int8/float8, scale f32/f16/bf16) axis=0|-1|2: s*q in the scale's dtype";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    if (in.size() != 2 || !(in[0].dtype == DType::I8 || is_float8(in[0].dtype))) {
      op_error(name, "expects int8 or float8 codes and their scale: " + describe(in));
    }
    check_symmetric_inputs(name, in, axis_param(name, params), in[0].dtype);
    return std::vector<TensorSpec>{{in[1].dtype, in[0].shape}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    return std::vector<Tensor>{dequantize_symmetric(in[0], in[1], axis_param(name, params))};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    const DequantizeParams p{0, static_cast<uint32_t>(in[0].shape[1]), static_cast<uint32_t>(scale_mode(axis_param(name, params))),
                             0, code_kind(in[0].dtype), 0, 1};
    launch_dequantize(ctx, in[0], in[1], nullptr, out[0], p);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 5000;
    for (QType qtype : eight_bit_qtypes()) {
      const std::string tag = std::string(qtype_name(qtype)) + " ";
      for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        for (auto& c : symmetric_weight_cases(qtype, dtype, seed)) {
          if (c.label.find("ties") != std::string::npos) continue;  // quantize's edges, not dequantize's
          const auto axis = axis_param("", c.params);
          c.inputs[0] = quantize_symmetric(c.inputs[0], qtype, axis, c.inputs[1]);
          c.params = {{"axis", axis ? *axis : 2.0}};
          cases.push_back(std::move(c));
        }
        auto [codes, scale] = all_codes_case(qtype, dtype, seed++);
        cases.push_back({tag + shape_label(dtype, {16, 16}) + " all codes, scales 2^-24..2^7", {codes, scale}, {{"axis", 0}}});
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

OpDef quantize_activation_op() {
  const std::string name = "quantize_activation";
  OpDef def;
  def.name = name;
  def.summary = name + "(x f32/f16/bf16, scale f32 []) qtype=2..5: static per-tensor int8/float8 codes";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    if (in.size() != 2 || !is_float_dtype(in[0].dtype) || in[1].dtype != DType::F32 || shape_numel(in[1].shape) != 1) {
      op_error(name, "expects float activations and a float32 scale of one element: " + describe(in));
    }
    expect_index_range(name, in);
    return std::vector<TensorSpec>{{qtype_info(qtype_param(name, params)).storage, in[0].shape}};
  };
  // quanto divides x by the float32 0-dim scale in x's dtype: quantize_symmetric per tensor.
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    return std::vector<Tensor>{quantize_symmetric(in[0], qtype_param(name, params), std::nullopt, in[1])};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    launch_quantize(ctx, in[0], in[1], nullptr, out[0], symmetric_params(qtype_param(name, params), 1, ScaleMode::PerTensor));
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 6000;
    for (QType qtype : eight_bit_qtypes()) {
      const OpParams params{{"qtype", static_cast<double>(qtype)}};
      const std::string tag = std::string(qtype_name(qtype)) + " ";
      const std::vector<float> targets = edge_quotients(qtype);
      for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        for (const Shape& shape : {Shape{1}, Shape{7, 13}, Shape{3, 4099}, Shape{2, 3, 5}}) {
          const Tensor x = random_tensor(dtype, shape, seed++, -4.0f, 4.0f);
          cases.push_back({tag + shape_label(dtype, shape), {x, absmax_scale(x.to(DType::F32), qtype, std::nullopt)}, params});
        }
        const Shape shape{5, 129};
        for (float s : {0.125f, 0.0137f}) {  // exact ties, then near ties
          const Tensor scale = Tensor::from_floats(DType::F32, {}, {s});
          const Tensor x = weight_for_quotients(dtype, shape, targets, scale, std::nullopt);
          cases.push_back({tag + shape_label(dtype, shape) + (s == 0.125f ? " ties" : " near ties"), {x, scale}, params});
        }
        const Tensor x = random_tensor(dtype, {3, 31}, seed++, -4.0f, 4.0f);
        cases.push_back({tag + shape_label(dtype, {3, 31}) + " special values",
                         {with_special_values(x, 4, 1), absmax_scale(x.to(DType::F32), qtype, std::nullopt)}, params});
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

// ---- affine: quantize_affine / dequantize_affine / pack_codes / unpack_codes -------------------

// W [groups, G] f32/f16/bf16 with its scale and shift [groups, 1] of the same dtype.
void check_affine_params(const std::string& op, const std::vector<TensorSpec>& in, int64_t groups) {
  for (size_t i : {size_t{1}, size_t{2}}) {
    if (!is_float_dtype(in[i].dtype) || in[i].dtype != in[1].dtype) {
      op_error(op, "scale and shift must share a float dtype: " + describe(in));
    }
    expect_param_shape(op, i == 1 ? "scale" : "shift", in[i], {groups, 1}, in);
  }
  expect_index_range(op, in);
}

struct AffineCase {
  Shape shape;
  bool hqq;
};

const std::vector<AffineCase>& affine_shapes() {
  static const std::vector<AffineCase> shapes = {{{1, 1}, false}, {{7, 13}, false}, {{31, 64}, false},
                                                 {{5, 129}, false}, {{3, 4099}, false}, {{7, 64}, true}};
  return shapes;
}

// Random groups (group 0 constant: a zero-range group) and their max or HQQ parameters.
std::pair<Tensor, AffineParams> affine_weight(DType dtype, const AffineCase& c, int bits, uint32_t seed) {
  std::vector<float> w = random_tensor(DType::F32, c.shape, seed).to_float_vector();
  if (c.shape[0] > 2) std::fill(w.begin(), w.begin() + c.shape[1], 0.3f);
  const Tensor weight = Tensor::from_floats(dtype, c.shape, w);
  const QType qtype = bits == 2 ? QType::QInt2 : QType::QInt4;
  return {weight, c.hqq ? hqq_optimizer(weight, qtype) : max_optimizer(weight, qtype)};
}

// W such that (W + shift) / scale lands on (near, for non-power-of-two scales) k + 0.5 for
// k from -2 past the top code, each group with its own scale and shift.
Tensor affine_tie_weight(DType dtype, const Shape& shape, const AffineParams& params) {
  const std::vector<float> s = params.scale.to_float_vector(), z = params.shift.to_float_vector();
  std::vector<float> w(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t g = i / static_cast<size_t>(shape[1]);
    w[i] = (static_cast<float>(static_cast<int>(i % 21) - 2) + 0.5f) * s[g] - z[g];
  }
  return Tensor::from_floats(dtype, shape, w);
}

AffineParams power_of_two_affine(DType dtype, int64_t groups) {
  const Shape shape{groups, 1};
  std::vector<float> shift(static_cast<size_t>(groups));
  for (size_t g = 0; g < shift.size(); ++g) shift[g] = static_cast<float>(g % 3) * 0.5f;
  return {power_of_two_scale(dtype, shape), Tensor::from_floats(dtype, shape, shift)};
}

OpDef quantize_affine_op() {
  const std::string name = "quantize_affine";
  OpDef def;
  def.name = name;
  def.summary = name + "(W [groups,G] f32/f16/bf16, scale [groups,1], shift [groups,1]) bits=2|4: uint8 codes";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    bits_param(name, params);
    if (in.size() != 3 || !is_float_dtype(in[0].dtype)) op_error(name, "expects W, scale and shift: " + describe(in));
    expect_2d(name, "W", in[0]);
    check_affine_params(name, in, in[0].shape[0]);
    if (in[1].dtype != in[0].dtype) op_error(name, "W, scale and shift must share a dtype: " + describe(in));
    return std::vector<TensorSpec>{{DType::U8, in[0].shape}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    return std::vector<Tensor>{quantize_affine(in[0], bits_param(name, params), {in[1], in[2]})};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    const float qmax = static_cast<float>((1 << bits_param(name, params)) - 1);
    const QuantizeParams p{0, static_cast<uint32_t>(in[0].shape[1]), static_cast<uint32_t>(ScaleMode::PerRow), 0, 0,
                           kCodeUint, 0.0f, qmax};
    launch_quantize(ctx, in[0], in[1], &in[2], out[0], p);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 7000;
    for (int bits : {2, 4}) {
      const OpParams params{{"bits", static_cast<double>(bits)}};
      for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        for (const auto& c : affine_shapes()) {
          auto [w, p] = affine_weight(dtype, c, bits, seed++);
          cases.push_back({shape_label(dtype, c.shape) + (c.hqq ? " hqq" : ""), {w, p.scale, p.shift}, params});
          if (c.shape[1] != 129) continue;
          // Near ties with the optimizer's scale and shift, exact ties with powers of two.
          const auto tie_case = [&](const std::string& what, const AffineParams& tp) {
            cases.push_back({shape_label(dtype, c.shape) + what, {affine_tie_weight(dtype, c.shape, tp), tp.scale, tp.shift}, params});
          };
          tie_case(" near ties", p);
          tie_case(" ties", power_of_two_affine(dtype, c.shape[0]));
          // NaN, ±inf and -0 weights, with the parameters of the weight without them.
          cases.push_back({shape_label(dtype, c.shape) + " special values", {with_special_values(w, 11, 2), p.scale, p.shift}, params});
        }
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

OpDef dequantize_affine_op() {
  const std::string name = "dequantize_affine";
  OpDef def;
  def.name = name;
  def.summary = name + "(packed [ceil(groups/(8/bits)),G] uint8, scale [groups,1], shift) bits=2|4: s*q - shift [groups,G]";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    const int bits = bits_param(name, params);
    if (in.size() != 3 || in[0].dtype != DType::U8) op_error(name, "expects packed uint8 codes, scale and shift: " + describe(in));
    expect_2d(name, "packed codes", in[0]);
    const int64_t groups = shape_numel(in[1].shape);
    check_affine_params(name, in, groups);
    if (in[0].shape[0] != packed_rows(groups, bits)) op_error(name, "packed rows do not match the scale's groups: " + describe(in));
    return std::vector<TensorSpec>{{in[1].dtype, {groups, in[0].shape[1]}}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    const Tensor codes = unpack_codes(in[0], bits_param(name, params), in[1].numel());
    return std::vector<Tensor>{dequantize_affine(codes, {in[1], in[2]})};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    const DequantizeParams p{0, static_cast<uint32_t>(in[0].shape[1]), static_cast<uint32_t>(ScaleMode::PerRow), 0, kCodeUint,
                             static_cast<uint32_t>(bits_param(name, params)), static_cast<uint32_t>(in[0].shape[0])};
    launch_dequantize(ctx, in[0], in[1], &in[2], out[0], p);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 8000;
    for (int bits : {2, 4}) {
      for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        for (const auto& c : affine_shapes()) {
          auto [w, p] = affine_weight(dtype, c, bits, seed++);
          const Tensor packed = pack_codes(quantize_affine(w, bits, p), bits);
          cases.push_back({shape_label(dtype, c.shape) + (c.hqq ? " hqq" : ""), {packed, p.scale, p.shift},
                           {{"bits", static_cast<double>(bits)}}});
        }
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

const std::vector<Shape>& packing_shapes() {
  static const std::vector<Shape> shapes = {{1, 1}, {2, 5},   {3, 3},    {4, 7},    {9, 1},
                                            {7, 13}, {31, 7}, {5, 129}, {3, 4099}, {130, 33}};
  return shapes;
}

Tensor random_codes(const Shape& shape, int bits, uint32_t seed) {
  std::vector<float> v = random_tensor(DType::F32, shape, seed, 0.0f, static_cast<float>(1 << bits)).to_float_vector();
  for (auto& x : v) x = std::floor(x);
  return Tensor::from_floats(DType::U8, shape, v);
}

OpDef pack_codes_op() {
  const std::string name = "pack_codes";
  OpDef def;
  def.name = name;
  def.summary = name + "(codes [rows,cols] uint8) bits=2|4: planar packed [ceil(rows/(8/bits)),cols] uint8";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    const int bits = bits_param(name, params);
    expect_inputs(name, in, {DType::U8});
    expect_2d(name, "codes", in[0]);
    expect_index_range(name, in);
    return std::vector<TensorSpec>{{DType::U8, {packed_rows(in[0].shape[0], bits), in[0].shape[1]}}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    return std::vector<Tensor>{pack_codes(in[0], bits_param(name, params))};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    KernelLaunch launch = words_grid("pack_codes", out[0].numel());
    launch.buffers = {in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(PackParams{static_cast<uint32_t>(out[0].numel()), static_cast<uint32_t>(in[0].shape[1]),
                                 static_cast<uint32_t>(in[0].shape[0]), static_cast<uint32_t>(out[0].shape[0]),
                                 static_cast<uint32_t>(bits_param(name, params))});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 9000;
    for (int bits : {2, 4}) {
      for (const Shape& shape : packing_shapes()) {
        cases.push_back({shape_label(DType::U8, shape), {random_codes(shape, bits, seed++)}, {{"bits", static_cast<double>(bits)}}});
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

OpDef unpack_codes_op() {
  const std::string name = "unpack_codes";
  OpDef def;
  def.name = name;
  def.summary = name + "(packed [ceil(rows/(8/bits)),cols] uint8) bits=2|4 rows: codes [rows,cols] uint8";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    const int bits = bits_param(name, params);
    expect_inputs(name, in, {DType::U8});
    expect_2d(name, "packed codes", in[0]);
    const int64_t rows = params.get_int("rows", -1);
    if (rows < 1 || packed_rows(rows, bits) != in[0].shape[0]) {
      op_error(name, "parameter rows must unpack to the packed rows: " + describe(in) + " " + params.to_string());
    }
    expect_index_range(name, {{DType::U8, {rows, in[0].shape[1]}}});
    return std::vector<TensorSpec>{{DType::U8, {rows, in[0].shape[1]}}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& params) {
    return std::vector<Tensor>{unpack_codes(in[0], bits_param(name, params), params.get_int("rows"))};
  };
  def.encode = [name](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                      const OpParams& params) {
    KernelLaunch launch = words_grid("unpack_codes", out[0].numel());
    launch.buffers = {in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(UnpackParams{static_cast<uint32_t>(out[0].numel()), static_cast<uint32_t>(in[0].shape[1]),
                                   static_cast<uint32_t>(in[0].shape[0]), static_cast<uint32_t>(bits_param(name, params))});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 9500;
    for (int bits : {2, 4}) {
      for (const Shape& shape : packing_shapes()) {
        const Tensor packed = pack_codes(random_codes(shape, bits, seed++), bits);
        cases.push_back({shape_label(DType::U8, packed.shape()) + " -> " + std::to_string(shape[0]) + " rows", {packed},
                         {{"bits", static_cast<double>(bits)}, {"rows", static_cast<double>(shape[0])}}});
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{true}};
  return def;
}

}  // namespace

void add_quantize_ops(std::vector<OpDef>& ops) {
  ops.push_back(quantize_symmetric_op());
  ops.push_back(dequantize_symmetric_op());
  ops.push_back(quantize_activation_op());
  ops.push_back(quantize_affine_op());
  ops.push_back(dequantize_affine_op());
  ops.push_back(pack_codes_op());
  ops.push_back(unpack_codes_op());
}

}  // namespace pq::rt
