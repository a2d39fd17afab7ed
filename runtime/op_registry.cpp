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

DeviceBuffer* EncodeContext::scratch(size_t bytes) {
  scratch_.push_back(backend_.allocate(bytes));
  return scratch_.back().get();
}

const std::vector<OpDef>& all_ops() {
  static const std::vector<OpDef> ops = [] {
    std::vector<OpDef> list;
    for (const auto& add_family : op_families()) add_family(list);
    return list;
  }();
  return ops;
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

}  // namespace pq::rt
