#include "host/nn/module.h"

#include <stdexcept>

namespace pq::nn {
namespace {

template <class M, class Out>
void collect(const std::string& name, M& module, Out& out) {
  out.emplace_back(name, &module);
  for (const auto& [child_name, child] : module.children()) {
    collect(name.empty() ? child_name : name + "." + child_name, *child, out);
  }
}

}  // namespace

void Module::append_state(const std::string&, std::vector<std::pair<std::string, Tensor>>&) const {}

void Module::add_child(std::string name, std::unique_ptr<Module> child) {
  children_.emplace_back(std::move(name), std::move(child));
}

std::vector<std::pair<std::string, Module*>> named_modules(Module& root) {
  std::vector<std::pair<std::string, Module*>> out;
  collect(std::string(), root, out);
  return out;
}

std::vector<std::pair<std::string, const Module*>> named_modules(const Module& root) {
  std::vector<std::pair<std::string, const Module*>> out;
  collect(std::string(), root, out);
  return out;
}

QuantizedWeight current_quantized_weight(const Module& module, const std::string& name) {
  const QuantState* q = module.quant();
  if (!q || !q->weights) throw std::logic_error("module '" + name + "' has no quantized weight");
  if (q->frozen) return *q->frozen;
  const Tensor* w = module.float_weight();
  if (!w) throw std::logic_error("module '" + name + "' has no float weight to quantize");
  QuantizeOptions options;
  options.optimizer = q->optimizer;
  options.group_size = q->group_size;
  return quantize_weight(*w, *q->weights, options, name + ".weight");
}

}  // namespace pq::nn
