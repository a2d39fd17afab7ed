#include "host/nn/quantize.h"

#include <stdexcept>

#include "host/module_patterns.h"

namespace pq::nn {
namespace {

void check_activation_qtype(std::optional<QType> activations) {
  if (activations && is_sub_byte(*activations)) {
    throw std::invalid_argument("activations must be qint8 or a qfloat8 type, got " + std::string(qtype_name(*activations)));
  }
}

Optimizer default_optimizer(QType weights) { return is_sub_byte(weights) ? Optimizer::Max : Optimizer::Absmax; }

}  // namespace

bool quantize_module(Module& module, const QuantizeConfig& config) {
  check_activation_qtype(config.activations);
  QuantState* q = module.quant();
  if (!q) return false;
  const std::optional<QType> weights = module.accepts_weight_quantization() ? config.weights : std::nullopt;
  const std::optional<QType> activations = module.accepts_activation_quantization() ? config.activations : std::nullopt;
  if (!weights && !activations) return false;
  q->weights = weights;
  q->activations = activations;
  q->optimizer = config.optimizer.value_or(default_optimizer(weights.value_or(QType::QInt8)));
  q->group_size = config.group_size;
  q->frozen.reset();
  q->input_scale = q->output_scale = 1.0f;
  q->quantize_output = true;
  return true;
}

std::vector<std::string> quantize(Module& root, const QuantizeConfig& config) {
  check_activation_qtype(config.activations);
  std::vector<std::string> quantized;
  for (auto& [name, module] : named_modules(root)) {
    if (module_selected(name, config.include, config.exclude) && quantize_module(*module, config)) quantized.push_back(name);
  }
  return quantized;
}

void freeze(Module& root, const std::function<void(const std::string& name, size_t done, size_t total)>& on_module) {
  std::vector<std::pair<std::string, Module*>> pending;
  for (auto& [name, module] : named_modules(root)) {
    const QuantState* q = module->quant();
    if (q && q->weights && !q->frozen) pending.emplace_back(name, module);
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    auto& [name, module] = pending[i];
    module->quant()->frozen = current_quantized_weight(*module, name);
    if (on_module) on_module(name, i + 1, pending.size());
  }
}

QuantizationMap quantization_map(const Module& root) {
  QuantizationMap qmap;
  for (const auto& [name, module] : named_modules(root)) {
    const QuantState* q = module->quant();
    if (q && q->quantized()) qmap[name] = {q->weights, q->activations};
  }
  return qmap;
}

}  // namespace pq::nn
