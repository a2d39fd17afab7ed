#include "runtime/model/forward.h"

#include <bit>
#include <stdexcept>

#include "host/nn/config.h"
#include "host/nn/layers.h"

namespace pq::rt::model {
namespace {

using nn::QuantState;

Tensor scalar_f32(float v) { return Tensor::from_floats(DType::F32, {}, {v}); }

Value scale_constant(Executor& ex, float scale) {
  return ex.constant("scale:" + std::to_string(std::bit_cast<uint32_t>(scale)), scalar_f32(scale));
}

OpParams qtype_param(QType qtype) { return {{"qtype", static_cast<double>(qtype)}}; }

// The codes of a float activation at a per-tensor scale.
Value activation_codes(Executor& ex, const Value& x, QType qtype, float scale) {
  return ex.run1("quantize_activation", {x, scale_constant(ex, scale)}, qtype_param(qtype));
}

// quanto's quantize_activation followed by the dequantization every float consumer applies.
Activation quantize_activation(Executor& ex, const Value& x, QType qtype, float scale, const nn::Module* producer) {
  const Value codes = activation_codes(ex, x, qtype, scale);
  // dequantize_symmetric takes 2-D codes; per tensor, any 2-D view of the same elements will do.
  const Value flat = ex.reshape(codes, {1, -1});
  const Value values = ex.run1("dequantize_symmetric", {flat, scale_constant(ex, scale)}, {{"axis", 2}});
  return {ex.reshape(values, x.shape), qtype, scale, producer};
}

float absmax_scale_of(Executor& ex, const Value& v, QType qtype) {
  return nn::absmax_activation_scale(ex.read(v).to_float_vector(), qtype);
}

// A consumer took `x`; streamline remembers whether it kept the producer's output quantized.
void consumed(CalibrationState* cal, const Activation& x, bool kept_quantized) {
  if (!cal || !x.producer || !x.qtype) return;
  bool& flag = cal->keeps_quantized[x.producer];
  flag = flag || kept_quantized;
}

// quanto's calibrate_input + quantize_input hooks.
Activation module_input(Executor& ex, QuantState& q, Activation x, CalibrationState* cal) {
  if (!q.activations) return x;
  if (cal) {
    if (x.qtype) {
      q.input_scale = x.scale;  // quanto adopts the upstream scale, no EMA
    } else {
      const float momentum = cal->options.quanto_input_momentum ? 0.9f : cal->options.momentum;
      q.input_scale = nn::updated_scale(q.input_scale, absmax_scale_of(ex, x.value, *q.activations), momentum);
    }
  }
  if (!q.quantize_input) return x;
  if (x.qtype) {
    if (*x.qtype != *q.activations) throw std::invalid_argument("heterogeneous quantized activations");
    return x;
  }
  return quantize_activation(ex, x.value, *q.activations, q.input_scale, nullptr);
}

// quanto's calibrate_output + quantize_output hooks.
Activation module_output(Executor& ex, const nn::Module& m, QuantState& q, const Value& y, CalibrationState* cal) {
  if (!q.activations) return {y};
  if (cal) q.output_scale = nn::updated_scale(q.output_scale, absmax_scale_of(ex, y, *q.activations), cal->options.momentum);
  if (!q.quantize_output) return {y};
  return quantize_activation(ex, y, *q.activations, q.output_scale, &m);
}

Value f32_constant(Executor& ex, const std::string& key, const Tensor& t) {
  return ex.constant(key, t.dtype() == DType::F32 ? t : t.to(DType::F32));
}

std::vector<Value> with_bias(Executor& ex, const std::string& name, std::vector<Value> in, const std::optional<Tensor>& bias) {
  if (bias) in.push_back(f32_constant(ex, name + ".bias", *bias));
  return in;
}

// A quantized weight in its stored form on the device: int8/float8 codes or packed int4/int2
// codes, with scale (and shift) as float32. Quantized (from the float weight when unfrozen)
// only when not cached yet.
struct StoredWeight {
  Value data, scale, shift;
};

StoredWeight stored_weight(Executor& ex, const std::string& name, const nn::Module& m) {
  const std::string key = name + ".w.";
  if (!ex.has_constant(key + "data")) {
    const QuantizedWeight w = nn::current_quantized_weight(m, name);
    ex.constant(key + "data", is_sub_byte(w.qtype) ? w.serialized_data() : w.data);
    f32_constant(ex, key + "scale", w.scale);
    if (is_sub_byte(w.qtype)) f32_constant(ex, key + "shift", w.shift);
  }
  StoredWeight s{ex.constant(key + "data", {}), ex.constant(key + "scale", {}), {}};
  if (ex.has_constant(key + "shift")) {
    // The ops take the grouped 2-D layout; quanto keeps a per-row conv weight's packed codes 4-D.
    s.data = ex.reshape(s.data, {s.data.shape[0], -1});
    s.scale = ex.reshape(s.scale, {-1, 1});
    s.shift = ex.reshape(ex.constant(key + "shift", {}), {-1, 1});
  }
  return s;
}

// y = x · W'ᵀ + b with the weight in its stored form (a float W never reaches the device).
Value linear_op(Executor& ex, const std::string& name, const nn::Linear& l, const Activation& x) {
  const QuantState& q = l.quant_state;
  const double has_bias = l.bias ? 1 : 0;
  if (!q.weights) {
    const Value y = ex.run1("matmul_f32", {x.value, f32_constant(ex, name + ".weight", l.weight)}, {{"transpose_b", 1}});
    return l.bias ? ex.run1("add", {y, f32_constant(ex, name + ".bias", *l.bias)}) : y;
  }
  const StoredWeight w = stored_weight(ex, name, l);
  const Value& data = w.data;
  const Value& scale = w.scale;
  if (!is_sub_byte(*q.weights)) {
    if (*q.weights == QType::QInt8 && x.qtype == QType::QInt8) {
      const Value codes = activation_codes(ex, x.value, QType::QInt8, x.scale);
      return ex.run1("linear_w8a8", with_bias(ex, name, {codes, data, scale}, l.bias), {{"input_scale", x.scale}, {"has_bias", has_bias}});
    }
    return ex.run1("linear_qbytes", with_bias(ex, name, {x.value, data, scale}, l.bias), {{"has_bias", has_bias}});
  }
  return ex.run1("linear_qbits", with_bias(ex, name, {x.value, data, scale, w.shift}, l.bias),
                 {{"bits", qtype_info(*q.weights).bits}, {"has_bias", has_bias}});
}

// The conv weight: f32, or int8 codes + scale for weight_format=1, or dequantized on the device.
std::vector<Value> conv_weight(Executor& ex, const std::string& name, const nn::Conv2d& c, double& weight_format) {
  const QuantState& q = c.quant_state;
  weight_format = 0;
  if (!q.weights) return {f32_constant(ex, name + ".weight", c.weight)};
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
  in = with_bias(ex, name, in, c.bias);
  return ex.run1("conv2d", in, {{"weight_format", weight_format}, {"stride_h", c.stride[0]}, {"stride_w", c.stride[1]},
                                {"pad_h", c.padding[0]}, {"pad_w", c.padding[1]}, {"dilation_h", c.dilation[0]},
                                {"dilation_w", c.dilation[1]}, {"groups", c.groups}});
}

Value layer_norm_op(Executor& ex, const std::string& name, const nn::LayerNorm& n, const Activation& x) {
  const int64_t dim = shape_numel(n.normalized_shape);
  const Shape original = x.value.shape;
  const Value rows = ex.reshape(x.value, {-1, dim});
  const Tensor ones = Tensor::from_floats(DType::F32, {dim}, std::vector<float>(static_cast<size_t>(dim), 1.0f));
  std::vector<Value> in{rows, f32_constant(ex, name + ".weight", n.weight.defined() ? n.weight.reshape({dim}) : ones)};
  if (n.bias) in.push_back(f32_constant(ex, name + ".bias", n.bias->reshape({dim})));
  return ex.reshape(ex.run1("layernorm", in, {{"eps", n.eps}}), original);
}

Value embedding_op(Executor& ex, const std::string& name, const nn::Embedding& e, const Activation& x) {
  const QuantState& q = e.quant_state;
  Value table;
  if (!q.weights) {
    table = f32_constant(ex, name + ".weight", e.weight);
  } else {
    // Beyond quanto: the table is stored quantized; lookups read its dequantized rows.
    const std::string key = name + ".w.dequantized";
    table = ex.has_constant(key) ? ex.constant(key, {}) : f32_constant(ex, key, dequantize(nn::current_quantized_weight(e, name)));
  }
  Value indices = x.value;
  if (indices.dtype != DType::I32) {
    indices = ex.input(ex.read(indices).to(DType::I32));
  }
  return ex.run1("embedding", {table, indices});
}

Value pool_op(Executor& ex, const nn::Module& m, const Activation& x) {
  const auto& p = static_cast<const nn::Pool2d&>(m);
  OpParams params{{"kernel_h", p.kernel_size[0]}, {"kernel_w", p.kernel_size[1]}, {"stride_h", p.stride[0]},
                  {"stride_w", p.stride[1]}, {"pad_h", p.padding[0]}, {"pad_w", p.padding[1]}, {"ceil_mode", p.ceil_mode}};
  if (auto* mp = dynamic_cast<const nn::MaxPool2d*>(&m)) {
    params.set("dilation_h", static_cast<double>(mp->dilation[0]));
    params.set("dilation_w", static_cast<double>(mp->dilation[1]));
    return ex.run1("max_pool2d", {x.value}, params);
  }
  params.set("count_include_pad", static_cast<const nn::AvgPool2d&>(m).count_include_pad ? 1 : 0);
  return ex.run1("avg_pool2d", {x.value}, params);
}

Shape flattened(const nn::Flatten& f, const Shape& s) {
  const auto rank = static_cast<int64_t>(s.size());
  const int64_t start = f.start_dim < 0 ? f.start_dim + rank : f.start_dim;
  const int64_t end = f.end_dim < 0 ? f.end_dim + rank : f.end_dim;
  Shape out(s.begin(), s.begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= s[static_cast<size_t>(d)];
  out.push_back(merged);
  out.insert(out.end(), s.begin() + end + 1, s.end());
  return out;
}

// Layers that quanto leaves alone. ReLU and Flatten keep a quantized activation quantized
// (quanto runs relu and view on the int8 data); the others dequantize (qfallback).
Activation plain_layer(Executor& ex, const nn::Module& m, const Activation& x, CalibrationState* cal) {
  const std::string_view type = m.type();
  // quanto's relu runs on int8 data only; a float8 activation is dequantized first.
  const bool keeps = type == "Flatten" || (type == "ReLU" && (!x.qtype || *x.qtype == QType::QInt8));
  if (keeps) {
    consumed(cal, x, true);
    Activation y = x;
    y.value = type == "ReLU" ? ex.run1("relu", {x.value}) : ex.reshape(x.value, flattened(static_cast<const nn::Flatten&>(m), x.value.shape));
    y.producer = nullptr;
    return y;
  }
  consumed(cal, x, false);
  if (type == "ReLU") return {ex.run1("relu", {x.value})};
  if (type == "SiLU") return {ex.run1("silu", {x.value})};
  if (type == "GELU") return {ex.run1(static_cast<const nn::GELU&>(m).tanh_approximation ? "gelu_tanh" : "gelu_erf", {x.value})};
  if (type == "MaxPool2d" || type == "AvgPool2d") return {pool_op(ex, m, x)};
  throw std::invalid_argument("no forward for module type " + std::string(type));
}

Activation quantizable_layer(Executor& ex, nn::Module& m, const std::string& name, Activation x, CalibrationState* cal) {
  QuantState& q = *m.quant();
  consumed(cal, x, false);
  x = module_input(ex, q, std::move(x), cal);
  Value y;
  if (auto* l = dynamic_cast<nn::Linear*>(&m)) y = linear_op(ex, name, *l, x);
  else if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) y = conv2d_op(ex, name, *c, x);
  else if (auto* n = dynamic_cast<nn::LayerNorm*>(&m)) y = layer_norm_op(ex, name, *n, x);
  else if (auto* e = dynamic_cast<nn::Embedding*>(&m)) y = embedding_op(ex, name, *e, x);
  else throw std::invalid_argument("no forward for module type " + std::string(m.type()));
  return module_output(ex, m, q, y, cal);
}

// quanto's calibrate_output on a non-quantized parent: children whose quantized outputs no
// consumer kept quantized stop quantizing their outputs.
void streamline_children(nn::Module& parent, CalibrationState* cal) {
  if (!cal || !cal->options.streamline) return;
  for (auto& [child_name, child] : parent.children()) {
    QuantState* q = child->quant();
    if (q && q->activations && !cal->keeps_quantized[child.get()]) q->quantize_output = false;
  }
}

}  // namespace

Activation forward(Executor& ex, nn::Module& module, const std::string& name, Activation x, CalibrationState* cal) {
  if (!module.children().empty()) {
    for (auto& [child_name, child] : module.children()) {
      x = forward(ex, *child, name.empty() ? child_name : name + "." + child_name, std::move(x), cal);
    }
    streamline_children(module, cal);
    return x;
  }
  if (module.quant()) return quantizable_layer(ex, module, name, std::move(x), cal);
  return plain_layer(ex, module, x, cal);
}

}  // namespace pq::rt::model
