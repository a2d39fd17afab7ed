#include "runtime/model/forward.h"

#include <stdexcept>

#include "host/nn/layers.h"

namespace pq::rt::model {
namespace {

Value embedding_op(Executor& ex, const std::string& name, const nn::Embedding& e, const Activation& x) {
  const Value table = float_constant(ex, name + ".weight", e.weight, DType::F32);
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
  if (auto* l = dynamic_cast<nn::Linear*>(&m)) return linear_module(ex, *l, name, std::move(x), cal);
  if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) return conv2d_module(ex, *c, name, std::move(x), cal);
  if (auto* n = dynamic_cast<nn::LayerNorm*>(&m)) return layer_norm_module(ex, *n, name, std::move(x), cal);
  if (auto* e = dynamic_cast<nn::Embedding*>(&m)) {
    consumed(cal, x, false);
    return {embedding_op(ex, name, *e, x)};
  }
  throw std::invalid_argument("no forward for module type " + std::string(m.type()));
}

}  // namespace

Activation forward(Executor& ex, nn::Module& module, const std::string& name, Activation x, CalibrationState* cal) {
  if (!module.children().empty()) {
    for (auto& [child_name, child] : module.children()) {
      x = forward(ex, *child, name.empty() ? child_name : name + "." + child_name, std::move(x), cal);
    }
    end_of_parent(module, cal);
    return x;
  }
  if (module.quant()) return quantizable_layer(ex, module, name, std::move(x), cal);
  return plain_layer(ex, module, x, cal);
}

}  // namespace pq::rt::model
