#include "runtime/op_registry.h"

#include <sstream>
#include <stdexcept>

#include "runtime/ops/op_families.h"

namespace pq::rt {

double OpParams::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw std::invalid_argument("missing op parameter '" + name + "'");
  return it->second;
}

std::string OpParams::to_string() const {
  std::ostringstream s;
  for (const auto& [name, value] : values_) s << (s.tellp() > 0 ? " " : "") << name << "=" << value;
  return s.str();
}

DeviceBuffer* EncodeContext::view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes) {
  scratch_.push_back(backend_.view(buffer, offset, bytes));
  return scratch_.back().get();
}

DeviceBuffer* EncodeContext::scratch(size_t bytes) { return scratch_buffer(bytes).get(); }

std::shared_ptr<DeviceBuffer> EncodeContext::scratch_buffer(size_t bytes) {
  scratch_.push_back(backend_.allocate(bytes));
  return scratch_.back();
}

namespace {

std::string alias_text(const std::string& op, const InPlace& alias) {
  return "op '" + op + "': output " + std::to_string(alias.output) + " updates input " + std::to_string(alias.input) +
         " in place";
}

// An in-place op's encoder is only ever given its input's buffer as the output (an encoder
// given a separate buffer would write the update there and leave the rest of it undefined),
// and its infer gives that output the input's spec.
OpDef with_in_place_checks(OpDef op) {
  if (op.in_place.empty()) return op;
  op.encode = [name = op.name, aliases = op.in_place, encode = op.encode](
                  EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams& params) {
    for (const InPlace& a : aliases) {
      if (a.input >= in.size() || a.output >= out.size() || in[a.input].buffer != out[a.output].buffer) {
        throw std::logic_error(alias_text(name, a) + " and must be given that input's buffer");
      }
    }
    encode(ctx, in, out, params);
  };
  op.infer = [name = op.name, aliases = op.in_place, infer = op.infer](const std::vector<TensorSpec>& in,
                                                                       const OpParams& params) {
    std::vector<TensorSpec> specs = infer(in, params);
    for (const InPlace& a : aliases) {
      if (a.output >= specs.size() || a.input >= in.size() || !(specs[a.output] == in[a.input])) {
        throw std::logic_error(alias_text(name, a) + " but infer gives it another spec");
      }
    }
    return specs;
  };
  return op;
}

}  // namespace

const std::vector<OpDef>& all_ops() {
  static const std::vector<OpDef> ops = [] {
    std::vector<OpDef> list;
    for (const auto& add_family : op_families()) add_family(list);
    for (OpDef& op : list) op = with_in_place_checks(std::move(op));
    return list;
  }();
  return ops;
}

std::optional<size_t> in_place_input(const OpDef& op, size_t output) {
  for (const InPlace& alias : op.in_place) {
    if (alias.output == output) return alias.input;
  }
  return std::nullopt;
}

const OpDef& find_op(const std::string& name) {
  std::string known;
  for (const auto& op : all_ops()) {
    if (op.name == name) return op;
    known += (known.empty() ? "" : ", ") + op.name;
  }
  throw std::invalid_argument("unknown op '" + name + "' (known: " + known + ")");
}

void op_error(const std::string& op, const std::string& message) {
  throw std::invalid_argument("op '" + op + "': " + message);
}

std::string describe(const std::vector<TensorSpec>& specs) {
  std::string s;
  for (const auto& spec : specs) s += (s.empty() ? "" : ", ") + std::string(dtype_name(spec.dtype)) + shape_to_string(spec.shape);
  return s;
}

std::vector<TensorSpec> tensor_specs(const std::vector<Tensor>& tensors) {
  std::vector<TensorSpec> specs;
  for (const Tensor& t : tensors) specs.push_back({t.dtype(), t.shape()});
  return specs;
}

std::vector<TensorSpec> tensor_specs(const std::vector<DeviceTensor>& tensors) {
  std::vector<TensorSpec> specs;
  for (const DeviceTensor& t : tensors) specs.push_back({t.dtype, t.shape});
  return specs;
}

}  // namespace pq::rt
