#include "runtime/model/quantized_modules.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "host/float_format.h"
#include "host/nn/config.h"
#include "runtime/ops/linear_common.h"
#include "runtime/ops/linear_layout.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::model {
namespace {

using nn::QuantState;

// A 0-dim scale in `dtype` (quanto's scales are 0-dim tensors of the activations' dtype).
Value scale_constant(Executor& ex, float scale, DType dtype) {
  const std::string key = "scale:" + std::string(dtype_name(dtype)) + ":" + std::to_string(std::bit_cast<uint32_t>(scale));
  return ex.constant(key, Tensor::from_floats(dtype, {}, {scale}));
}

OpParams qtype_param(QType qtype) { return {{"qtype", static_cast<double>(qtype)}}; }

// The codes of a float activation at a per-tensor scale (quantize_activation takes the scale in
// float32; an f16/bf16 scale converts exactly).
Value activation_codes(Executor& ex, const Value& x, QType qtype, float scale) {
  return ex.run1("quantize_activation", {x, scale_constant(ex, scale, DType::F32)}, qtype_param(qtype));
}

// quanto's quantize_activation followed by the dequantization every float consumer applies
// (scale · codes in the scale's dtype).
Activation quantize_activation(Executor& ex, const Value& x, QType qtype, float scale, const nn::Module* producer) {
  const Value codes = activation_codes(ex, x, qtype, scale);
  // dequantize_symmetric takes 2-D codes; per tensor, any 2-D view of the same elements will do.
  const Value flat = ex.reshape(codes, {1, -1});
  const Value values = ex.run1("dequantize_symmetric", {flat, scale_constant(ex, scale, x.dtype)}, {{"axis", 2}});
  return {ex.reshape(values, x.shape), qtype, scale, producer};
}

float absmax_scale_of(Executor& ex, const Value& v, QType qtype) {
  return nn::absmax_activation_scale(ex.read(v).to_float_vector(), qtype, v.dtype);
}

// A calibration step that saw NaN or infinity would save a scale that quantizes everything to
// NaN or zero: refuse it, naming the module.
float checked_scale(float scale, const std::string& name, const char* which) {
  if (!std::isfinite(scale)) {
    throw std::invalid_argument("calibration: the " + std::string(which) + " of module '" + name +
                                "' holds NaN or infinity (scale " + std::to_string(scale) + ")");
  }
  return scale;
}

}  // namespace

void check_calibrated_scales(const nn::Module& root) {
  for (const auto& [name, module] : nn::named_modules(root)) {
    const QuantState* q = module->quant();
    if (!q || !q->activations) continue;
    for (const auto& [scale, which] : {std::pair{q->input_scale, "inputs"}, std::pair{q->output_scale, "outputs"}}) {
      if (scale == 0.0f) {
        throw std::invalid_argument("calibration: module '" + name + "' saw only zeros at its " + which +
                                    " (scale 0 would quantize every later input to zero); calibrate on representative data");
      }
      checked_scale(scale, name, which);
    }
  }
}

namespace {

// quanto's calibrate_input + quantize_input hooks.
Activation module_input(Executor& ex, QuantState& q, const std::string& name, Activation x, CalibrationState* cal) {
  if (!q.activations) return x;
  if (cal) {
    if (x.qtype) {
      q.input_scale = x.scale;  // quanto adopts the upstream scale, no EMA
    } else {
      const double momentum = cal->options.quanto_input_momentum ? 0.9 : cal->options.momentum;
      const float fresh = checked_scale(absmax_scale_of(ex, x.value, *q.activations), name, "input");
      q.input_scale = nn::updated_scale(q.input_scale, fresh, momentum, x.value.dtype);
    }
  }
  if (!q.quantize_input) return x;
  if (x.qtype) {
    if (*x.qtype != *q.activations) throw std::invalid_argument("module '" + name + "': heterogeneous quantized activations");
    return x;
  }
  return quantize_activation(ex, x.value, *q.activations, q.input_scale, nullptr);
}

// quanto's calibrate_output + quantize_output hooks.
Activation module_output(Executor& ex, const nn::Module& m, QuantState& q, const std::string& name, const Value& y,
                         CalibrationState* cal) {
  if (!q.activations) return {y};
  if (cal) {
    const float fresh = checked_scale(absmax_scale_of(ex, y, *q.activations), name, "output");
    q.output_scale = nn::updated_scale(q.output_scale, fresh, cal->options.momentum, y.dtype);
  }
  if (!q.quantize_output) return {y};
  return quantize_activation(ex, y, *q.activations, q.output_scale, &m);
}

std::vector<Value> with_bias(Executor& ex, const std::string& name, std::vector<Value> in, const std::optional<Tensor>& bias,
                             DType dtype) {
  if (bias) in.push_back(float_constant(ex, name + ".bias", *bias, dtype));
  return in;
}

// A quantized weight in its stored form on the device: int8/float8 codes or packed int4/int2
// codes, with scale (and shift) as float32. Quantized (from the float weight when unfrozen)
// only when not cached yet. `blocked`: int4 codes whose group size is a multiple of 32 are
// repacked once, here, into the blocked device layout the linear kernels read fastest
// (runtime/ops/linear_layout.h; linear_qbits layout=1), instead of quanto's planar packing.
struct StoredWeight {
  Value data, scale, shift;
  bool blocked = false;
};

// Whether module `name`'s weight (float, or quantized in either device layout) is uploaded.
bool weight_on_device(Executor& ex, const std::string& name, bool quantized) {
  if (!quantized) return ex.has_constant(name + ".weight");
  return ex.has_constant(name + ".w.data") || ex.has_constant(name + ".w.blocked");
}

StoredWeight stored_weight(Executor& ex, const std::string& name, const nn::Module& m, bool blocked = false) {
  const std::string key = name + ".w.";
  if (!weight_on_device(ex, name, /*quantized=*/true)) {
    const QuantizedWeight w = per_group_layout(nn::current_quantized_weight(m, name));
    const int64_t rows = w.shape.at(0), cols = shape_numel(w.shape) / rows;
    const int64_t group_size = w.group_size.value_or(cols);
    if (blocked && w.qtype == QType::QInt4 && linear::blocked_layout_supported(cols, group_size, 4)) {
      const int64_t groups_per_row = cols / group_size;
      ex.constant(key + "blocked", linear::repack_blocked_codes(w.serialized_data(), rows, cols, group_size, 4));
      ex.constant(key + "scale", linear::repack_blocked_groups(w.scale.to(DType::F32), rows, groups_per_row));
      ex.constant(key + "shift", linear::repack_blocked_groups(w.shift.to(DType::F32), rows, groups_per_row));
    } else {
      ex.constant(key + "data", is_sub_byte(w.qtype) ? w.serialized_data() : w.data);
      float_constant(ex, key + "scale", w.scale, DType::F32);
      if (is_sub_byte(w.qtype)) float_constant(ex, key + "shift", w.shift, DType::F32);
    }
  }
  const bool is_blocked = ex.has_constant(key + "blocked");
  StoredWeight s{ex.constant(key + (is_blocked ? "blocked" : "data"), {}), ex.constant(key + "scale", {}), {}, is_blocked};
  if (ex.has_constant(key + "shift")) {
    // The ops take the grouped 2-D layout; quanto keeps a per-row conv weight's packed codes 4-D.
    s.data = ex.reshape(s.data, {s.data.shape[0], -1});
    s.scale = ex.reshape(s.scale, {-1, 1});
    s.shift = ex.reshape(ex.constant(key + "shift", {}), {-1, 1});
  }
  return s;
}

// x_s · w_s per output row in `dtype` (torch multiplies the two 0-dim/[m,1] scales of that dtype
// in float32 and rounds once), uploaded once per input scale.
Value combined_scale(Executor& ex, const std::string& name, const nn::Module& m, float input_scale, DType dtype) {
  const std::string key = name + ".w.scale_times:" + std::to_string(std::bit_cast<uint32_t>(input_scale));
  if (ex.has_constant(key)) return ex.constant(key, {});
  const QuantizedWeight w = nn::current_quantized_weight(m, name);
  std::vector<float> s = w.scale.to_float_vector();
  for (float& v : s) v = round_to_dtype(dtype, input_scale * v);
  return ex.constant(key, Tensor::from_floats(dtype, {static_cast<int64_t>(s.size()), 1}, s));
}

// The one op that computes y = x · W'ᵀ (+ b) for a weight-only module, with the weight in its
// stored form (a float W never reaches the device); nullopt for a float weight with a bias
// (matmul_f32, then add).
struct LinearCall {
  std::string op;
  std::vector<Value> inputs;  // x first
  OpParams params;
};
std::optional<LinearCall> weight_only_call(Executor& ex, const std::string& name, const nn::Linear& l, const Value& x,
                                           DType dtype) {
  const QuantState& q = l.quant_state;
  const double has_bias = l.bias ? 1 : 0;
  if (!q.weights) {
    if (l.bias) return std::nullopt;
    return LinearCall{"matmul_f32", {x, float_constant(ex, name + ".weight", l.weight, dtype)}, {{"transpose_b", 1}, {"blas", 0}}};
  }
  const StoredWeight w = stored_weight(ex, name, l, /*blocked=*/true);
  if (!is_sub_byte(*q.weights)) return LinearCall{"linear_qbytes", with_bias(ex, name, {x, w.data, w.scale}, l.bias, dtype), {{"has_bias", has_bias}}};
  OpParams params{{"bits", qtype_info(*q.weights).bits}, {"has_bias", has_bias}};
  if (w.blocked) {
    const int64_t padded_rows = linear::blocked_shape(l.out_features, l.in_features, 4)[0];
    params.set("layout", 1);
    params.set("rows", static_cast<double>(l.out_features));
    params.set("group_size", static_cast<double>(padded_rows * l.in_features / shape_numel(w.scale.shape)));
  }
  return LinearCall{"linear_qbits", with_bias(ex, name, {x, w.data, w.scale, w.shift}, l.bias, dtype), params};
}

// The parameter `linear` of fused_linear and linear_swiglu for a weight-only call's op.
double fused_linear_index(const std::string& op) {
  const auto* ops = std::begin(linear::kFusedLinearOps);
  return static_cast<double>(std::find(ops, std::end(linear::kFusedLinearOps), op) - ops);
}

// y = x · W'ᵀ + b with the weight in its stored form.
Value linear_op(Executor& ex, const std::string& name, const nn::Linear& l, const Activation& x, DType dtype) {
  const QuantState& q = l.quant_state;
  if (q.weights == QType::QInt8 && x.qtype == QType::QInt8) {
    // quanto's int8 × int8 path: acc · (x_s · w_s), the scale product rounded to the
    // activations' dtype first, the bias added afterwards (its own rounding). Codes in, the
    // activations' dtype out (the op's default for code inputs is float32).
    const StoredWeight w = stored_weight(ex, name, l, /*blocked=*/true);
    const Value codes = activation_codes(ex, x.value, QType::QInt8, x.scale);
    const Value y = ex.run1("linear_w8a8", {codes, w.data, combined_scale(ex, name, l, x.scale, dtype)},
                            {{"input_scale", 1.0}, {"has_bias", 0}, {"dtype", float_dtype_code(dtype)}});
    return l.bias ? ex.run1("add", {y, float_constant(ex, name + ".bias", *l.bias, dtype)}) : y;
  }
  if (const auto call = weight_only_call(ex, name, l, x.value, dtype)) return ex.run1(call->op, call->inputs, call->params);
  const Value y = ex.run1("matmul_f32", {x.value, float_constant(ex, name + ".weight", l.weight, dtype)}, {{"transpose_b", 1}, {"blas", 0}});
  return ex.run1("add", {y, float_constant(ex, name + ".bias", *l.bias, dtype)});
}

// The conv weight: f32, or int8 codes + scale for weight_format=1, or dequantized on the device.
std::vector<Value> conv_weight(Executor& ex, const std::string& name, const nn::Conv2d& c, double& weight_format) {
  const QuantState& q = c.quant_state;
  weight_format = 0;
  if (!q.weights) return {float_constant(ex, name + ".weight", c.weight, DType::F32)};
  const StoredWeight w = stored_weight(ex, name, c);
  if (*q.weights == QType::QInt8) {
    weight_format = 1;
    return {w.data, w.scale};
  }
  const Shape shape = nn::expected_weight_shape(c);
  const int64_t rows = shape[0];
  if (!is_sub_byte(*q.weights)) {
    // One scale per output channel, or one per tensor (a single output channel).
    const bool per_tensor = shape_numel(w.scale.shape) == 1 && rows != 1;
    const Value codes = ex.reshape(w.data, {rows, -1});
    const Value scale = per_tensor ? ex.reshape(w.scale, {}) : ex.reshape(w.scale, {rows, 1});
    return {ex.reshape(ex.run1("dequantize_symmetric", {codes, scale}, {{"axis", per_tensor ? 2 : 0}}), shape)};
  }
  const Value grouped = ex.run1("dequantize_affine", {w.data, w.scale, w.shift}, {{"bits", qtype_info(*q.weights).bits}});
  return {ex.reshape(grouped, shape)};
}

Value conv2d_op(Executor& ex, const std::string& name, const nn::Conv2d& c, const Activation& x) {
  double weight_format = 0;
  std::vector<Value> in{x.value};
  for (Value& w : conv_weight(ex, name, c, weight_format)) in.push_back(w);
  in = with_bias(ex, name, in, c.bias, DType::F32);
  return ex.run1("conv2d", in, {{"weight_format", weight_format}, {"stride_h", c.stride[0]}, {"stride_w", c.stride[1]},
                                {"pad_h", c.padding[0]}, {"pad_w", c.padding[1]}, {"dilation_h", c.dilation[0]},
                                {"dilation_w", c.dilation[1]}, {"groups", c.groups}});
}

Value layer_norm_op(Executor& ex, const std::string& name, const nn::LayerNorm& n, const Activation& x, DType dtype) {
  const int64_t dim = shape_numel(n.normalized_shape);
  const Shape original = x.value.shape;
  const Value rows = ex.reshape(x.value, {-1, dim});
  const Tensor ones = Tensor::from_floats(dtype, {dim}, std::vector<float>(static_cast<size_t>(dim), 1.0f));
  std::vector<Value> in{rows, float_constant(ex, name + ".weight", n.weight.defined() ? n.weight.reshape({dim}) : ones, dtype)};
  if (n.bias) in.push_back(float_constant(ex, name + ".bias", n.bias->reshape({dim}), dtype));
  return ex.reshape(ex.run1("layernorm", in, {{"eps", n.eps}}), original);
}

// Tensors of one dtype stacked along dim 0 (their other dims equal), copied once.
Tensor concat_rows(const std::vector<Tensor>& parts) {
  Shape shape = parts.front().shape();
  shape[0] = 0;
  for (const Tensor& part : parts) shape[0] += part.shape()[0];
  Tensor out = Tensor::zeros(parts.front().dtype(), shape);
  std::byte* at = out.raw_data();
  for (const Tensor& part : parts) {
    const Tensor c = part.to(out.dtype()).contiguous();
    std::memcpy(at, c.raw_data(), c.nbytes());
    at += c.nbytes();
  }
  return out;
}

// Whether the weights of `modules` stack into one Linear's: weight-only (or all float), one
// format, each stored row of codes with its own scale (and shift), a bias on all or none.
bool stackable(const std::vector<const nn::Linear*>& modules) {
  const nn::Linear& first = *modules.front();
  const QuantState& fq = first.quant_state;
  for (const nn::Linear* m : modules) {
    const QuantState& q = m->quant_state;
    if (q.activations || q.weights != fq.weights || m->in_features != first.in_features ||
        m->bias.has_value() != first.bias.has_value()) {
      return false;
    }
    if (!q.weights) {
      if (!m->weight.defined() || m->weight.dtype() != first.weight.dtype()) return false;
      continue;
    }
    if (!q.frozen || !fq.frozen) return false;
    const QuantizedWeight &w = *q.frozen, &f = *fq.frozen;
    const bool per_row = w.data.shape().size() == 2 && w.scale.shape() == Shape{w.data.shape()[0], 1} &&
                         (!is_sub_byte(w.qtype) || w.shift.shape() == w.scale.shape());
    if (!per_row || w.float_dtype != f.float_dtype || w.group_size != f.group_size || w.axis != f.axis ||
        w.shape.size() != 2 || w.data.shape()[1] != f.data.shape()[1] || w.scale.dtype() != f.scale.dtype()) {
      return false;
    }
  }
  return true;
}

// The Linear whose rows are the modules' rows in order; its weight only when `with_weight`
// (not on the device yet), since stacking copies them.
std::unique_ptr<nn::Linear> stacked_linear(const std::vector<const nn::Linear*>& modules, bool with_weight) {
  const nn::Linear& first = *modules.front();
  auto stacked = std::make_unique<nn::Linear>();
  nn::Linear& s = *stacked;
  s.in_features = first.in_features;
  s.quant_state.weights = first.quant_state.weights;
  std::vector<Tensor> weights, biases, data, scales, shifts;
  for (const nn::Linear* m : modules) {
    s.out_features += m->out_features;
    if (m->bias) biases.push_back(*m->bias);
    if (!with_weight) continue;
    if (!m->quant_state.weights) {
      weights.push_back(m->weight);
      continue;
    }
    const QuantizedWeight& w = *m->quant_state.frozen;
    data.push_back(w.data);
    scales.push_back(w.scale);
    if (is_sub_byte(w.qtype)) shifts.push_back(w.shift);
  }
  if (first.bias) s.bias = concat_rows(biases);
  if (with_weight && !s.quant_state.weights) s.weight = concat_rows(weights);
  if (with_weight && s.quant_state.weights) {
    QuantizedWeight w = *first.quant_state.frozen;
    w.shape = {s.out_features, s.in_features};
    w.data = concat_rows(data);
    w.scale = concat_rows(scales);
    if (!shifts.empty()) w.shift = concat_rows(shifts);
    s.quant_state.frozen = std::move(w);
  }
  return stacked;
}

// The rows of `a` and `b` (one dtype, equal shapes) interleaved in units of `unit` rows: a's
// first unit, b's first, a's second, and so on.
Tensor interleave_rows(const Tensor& a, const Tensor& b, int64_t unit) {
  Shape shape = a.shape();
  shape[0] *= 2;
  Tensor out = Tensor::zeros(a.dtype(), shape);
  const Tensor ca = a.contiguous(), cb = b.to(a.dtype()).contiguous();
  const size_t unit_bytes = ca.nbytes() / static_cast<size_t>(a.shape()[0]) * static_cast<size_t>(unit);
  std::byte* at = out.raw_data();
  for (size_t offset = 0; offset < ca.nbytes(); offset += unit_bytes) {
    for (const Tensor* part : {&ca, &cb}) {
      std::memcpy(at, part->raw_data() + offset, unit_bytes);
      at += unit_bytes;
    }
  }
  return out;
}

// The Linear whose row 2i is gate's row i and row 2i + 1 up's (each stored row of codes, scale
// and shift, and the bias); its weight only when `with_weight`, as stacked_linear.
std::unique_ptr<nn::Linear> interleaved_linear(const nn::Linear& gate, const nn::Linear& up, bool with_weight) {
  auto paired = stacked_linear({&gate, &up}, /*with_weight=*/false);
  nn::Linear& s = *paired;
  if (gate.bias) s.bias = interleave_rows(*gate.bias, *up.bias, 1);
  if (!with_weight) return paired;
  if (!s.quant_state.weights) {
    s.weight = interleave_rows(gate.weight, up.weight, 1);
    return paired;
  }
  const QuantizedWeight &g = *gate.quant_state.frozen, &u = *up.quant_state.frozen;
  const int64_t unit = g.data.shape()[0] / gate.out_features;  // stored rows per output row (groups)
  QuantizedWeight w = g;
  w.shape = {s.out_features, s.in_features};
  w.data = interleave_rows(g.data, u.data, unit);
  w.scale = interleave_rows(g.scale, u.scale, unit);
  if (is_sub_byte(g.qtype)) w.shift = interleave_rows(g.shift, u.shift, unit);
  s.quant_state.frozen = std::move(w);
  return paired;
}

template <class Layer, class Op>
Activation quantized_module(Executor& ex, Layer& m, const std::string& name, Activation x, CalibrationState* cal, Op op) {
  QuantState& q = m.quant_state;
  consumed(cal, x, false);
  x = module_input(ex, q, name, std::move(x), cal);
  return module_output(ex, m, q, name, op(x), cal);
}

}  // namespace

Value float_constant(Executor& ex, const std::string& key, const Tensor& t, DType dtype) {
  if (ex.has_constant(key)) return ex.constant(key, {});
  return ex.constant(key, t.dtype() == dtype ? t : t.to(dtype));
}

void consumed(CalibrationState* cal, const Activation& x, bool kept_quantized) {
  if (!cal || !x.producer || !x.qtype) return;
  bool& flag = cal->keeps_quantized[x.producer];
  flag = flag || kept_quantized;
}

void end_of_parent(nn::Module& parent, CalibrationState* cal) {
  if (!cal || cal->options.streamline == nn::Streamline::Off) return;
  for (auto& [child_name, child] : parent.children()) {
    QuantState* q = child->quant();
    if (!q || !q->activations) continue;
    if (cal->options.streamline == nn::Streamline::Quanto || !cal->keeps_quantized[child.get()]) q->quantize_output = false;
  }
}

Activation linear_module(Executor& ex, nn::Linear& l, const std::string& name, Activation x, CalibrationState* cal, DType dtype) {
  return quantized_module(ex, l, name, std::move(x), cal, [&](const Activation& in) { return linear_op(ex, name, l, in, dtype); });
}

std::optional<Value> stacked_linear_modules(Executor& ex, const std::vector<const nn::Linear*>& modules,
                                           const std::string& name, const Value& x, CalibrationState* cal, DType dtype) {
  if (cal || modules.size() < 2 || !stackable(modules)) return std::nullopt;
  const bool on_device = weight_on_device(ex, name, modules.front()->quant_state.weights.has_value());
  return linear_op(ex, name, *stacked_linear(modules, !on_device), Activation{x}, dtype);
}

std::optional<Value> linear_swiglu_modules(Executor& ex, const nn::Linear& gate, const nn::Linear& up, const std::string& name,
                                          const Value& x, CalibrationState* cal, DType dtype) {
  if (cal || gate.out_features != up.out_features || !stackable({&gate, &up})) return std::nullopt;
  const bool on_device = weight_on_device(ex, name, gate.quant_state.weights.has_value());
  const std::unique_ptr<nn::Linear> paired = interleaved_linear(gate, up, !on_device);
  const auto call = weight_only_call(ex, name, *paired, x, dtype);
  if (!call) return std::nullopt;
  OpParams params = call->params;
  params.set("linear", fused_linear_index(call->op));
  return ex.run1("linear_swiglu", call->inputs, params);
}

std::optional<std::vector<Value>> linear_module_add_rmsnorm(Executor& ex, const nn::Linear& l, const std::string& name,
                                                           const Value& x, const AddRmsNorm& norm, CalibrationState* cal,
                                                           DType dtype) {
  if (cal || l.quant_state.activations) return std::nullopt;
  const auto call = weight_only_call(ex, name, l, x, dtype);
  if (!call) return std::nullopt;
  std::vector<Value> inputs = call->inputs;
  inputs.insert(inputs.end(), {norm.h, norm.weight, norm.counter});
  OpParams params = call->params;
  params.set("linear", fused_linear_index(call->op));
  params.set("eps", norm.eps);
  return ex.run("fused_linear", inputs, params);
}

std::optional<std::vector<Value>> linear_rope_kv_write_modules(Executor& ex, const std::vector<const nn::Linear*>& modules,
                                                              const std::string& name, const Value& x, const RopeKvWrite& rope,
                                                              CalibrationState* cal, DType dtype) {
  if (cal || modules.size() < 2 || !stackable(modules)) return std::nullopt;
  const bool on_device = weight_on_device(ex, name, modules.front()->quant_state.weights.has_value());
  const auto call = weight_only_call(ex, name, *stacked_linear(modules, !on_device), x, dtype);
  if (!call) return std::nullopt;
  std::vector<Value> inputs{rope.k_cache, rope.v_cache, rope.positions, rope.inv_freq, rope.start, rope.counter};
  inputs.insert(inputs.end(), call->inputs.begin(), call->inputs.end());
  OpParams params = call->params;
  params.set("linear", fused_linear_index(call->op));
  params.set("q_heads", static_cast<double>(rope.q_heads));
  return ex.run("linear_rope_kv_write", inputs, params);
}

Activation layer_norm_module(Executor& ex, nn::LayerNorm& n, const std::string& name, Activation x, CalibrationState* cal,
                             DType dtype) {
  return quantized_module(ex, n, name, std::move(x), cal, [&](const Activation& in) { return layer_norm_op(ex, name, n, in, dtype); });
}

Activation conv2d_module(Executor& ex, nn::Conv2d& c, const std::string& name, Activation x, CalibrationState* cal) {
  return quantized_module(ex, c, name, std::move(x), cal, [&](const Activation& in) { return conv2d_op(ex, name, c, in); });
}

}  // namespace pq::rt::model
