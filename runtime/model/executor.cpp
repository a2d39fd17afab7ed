#include "runtime/model/executor.h"

#include <stdexcept>

namespace pq::rt::model {

Value Executor::input(const Tensor& t) {
  if (device_.is_cpu()) return {t.contiguous(), {}, t.dtype(), t.shape()};
  DeviceTensor d = device_.upload(t);
  keepalive_.push_back(d.buffer);
  return {{}, d, t.dtype(), t.shape()};
}

Value Executor::constant(const std::string& key, const Tensor& t) {
  const auto it = constants_.find(key);
  if (it != constants_.end()) return it->second;
  Value v = device_.is_cpu() ? Value{t.contiguous(), {}, t.dtype(), t.shape()} : Value{{}, device_.upload(t), t.dtype(), t.shape()};
  constants_.emplace(key, v);
  return v;
}

std::vector<Value> Executor::run(const std::string& name, const std::vector<Value>& inputs, const OpParams& params) {
  const OpDef& op = find_op(name);
  std::vector<TensorSpec> specs;
  for (const auto& v : inputs) specs.push_back({v.dtype, v.shape});
  const std::vector<TensorSpec> out_specs = op.infer(specs, params);
  std::vector<Value> outputs;
  if (device_.is_cpu()) {
    std::vector<Tensor> host;
    for (const auto& v : inputs) host.push_back(v.host);
    for (Tensor& t : op.reference(host, params)) outputs.push_back({t, {}, t.dtype(), t.shape()});
    return outputs;
  }
  std::vector<DeviceTensor> in;
  for (const auto& v : inputs) in.push_back(v.device);
  const std::vector<DeviceTensor> out = device_.outputs_for(op, in, out_specs);
  for (size_t i = 0; i < out.size(); ++i) {
    const DeviceTensor& d = out[i];
    if (!in_place_input(op, i)) allocated_bytes_ += d.buffer->size();
    keepalive_.push_back(d.buffer);
    outputs.push_back({{}, d, d.dtype, d.shape});
  }
  auto ctx = std::make_shared<EncodeContext>(device_.backend());
  op.encode(*ctx, in, out, params);
  keepalive_.push_back(ctx);  // its scratch memory lives until the launches ran
  return outputs;
}

Value Executor::reshape(const Value& v, Shape shape) const {
  Value r = v;
  if (device_.is_cpu()) {
    r.host = v.host.reshape(shape);
    r.shape = r.host.shape();
    return r;
  }
  int64_t known = 1, free_dim = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) free_dim = static_cast<int64_t>(i);
    else known *= shape[i];
  }
  if (free_dim >= 0) shape[static_cast<size_t>(free_dim)] = known ? shape_numel(v.shape) / known : 0;
  if (shape_numel(shape) != shape_numel(v.shape)) {
    throw std::invalid_argument("cannot view " + shape_to_string(v.shape) + " as " + shape_to_string(shape));
  }
  r.device.shape = shape;
  r.shape = shape;
  return r;
}

Tensor Executor::read(const Value& v) {
  if (device_.is_cpu()) return v.host;
  finish();
  return device_.download(v.device);
}

void Executor::finish() {
  if (!device_.is_cpu()) device_.backend().synchronize();
  keepalive_.clear();
}

void Executor::move_keepalive_to(std::vector<std::shared_ptr<void>>& out) {
  out.insert(out.end(), keepalive_.begin(), keepalive_.end());
  keepalive_.clear();
}

}  // namespace pq::rt::model
