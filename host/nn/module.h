// The module tree: a torch-like named hierarchy (Sequential with children "0", "1", ...) whose
// leaves are layers. Modules hold parameters and quantization state only; running them is the
// runtime's job (runtime/model), so this header has no device API.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/quant/quantized_weight.h"
#include "host/tensor.h"

namespace pq::nn {

// How a module is quantized, as optimum-quanto's QModuleMixin holds it.
struct QuantState {
  std::optional<QType> weights;      // nullopt: the weight stays float
  std::optional<QType> activations;  // nullopt: no activation quantization
  Optimizer optimizer = Optimizer::Absmax;
  std::optional<int> group_size;     // sub-byte weights: quanto's rule unless given
  std::optional<QuantizedWeight> frozen;  // set by freeze(); unfrozen modules re-quantize on each use
  float input_scale = 1.0f;   // 1.0 doubles as "not calibrated", as in quanto
  float output_scale = 1.0f;
  bool quantize_input = false;   // quanto: Linear yes, Conv2d and LayerNorm no
  bool quantize_output = true;   // calibration's streamline may turn it off

  bool quantized() const { return weights.has_value() || activations.has_value(); }
};

class Module {
 public:
  virtual ~Module() = default;
  // torch's class name: "Linear", "Sequential", ...
  virtual std::string_view type() const = 0;
  // Quantization state, or nullptr for modules quanto never replaces (ReLU, pools, ...).
  virtual QuantState* quant() { return nullptr; }
  const QuantState* quant() const { return const_cast<Module*>(this)->quant(); }
  // The float weight that quantization applies to (nullptr when the module has none).
  virtual const Tensor* float_weight() const { return nullptr; }
  // Whether this module type can take the given quantization (LayerNorm: activations only).
  virtual bool accepts_weight_quantization() const { return false; }
  virtual bool accepts_activation_quantization() const { return false; }
  // Own tensors (not children's) under `prefix` ("0." or ""), as the state dict holds them.
  virtual void append_state(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;

  void add_child(std::string name, std::unique_ptr<Module> child);
  const std::vector<std::pair<std::string, std::unique_ptr<Module>>>& children() const { return children_; }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
};

class Sequential final : public Module {
 public:
  std::string_view type() const override { return "Sequential"; }
};

// Every module with its dotted name, parents first, the root as "" (torch's named_modules()).
std::vector<std::pair<std::string, Module*>> named_modules(Module& root);
std::vector<std::pair<std::string, const Module*>> named_modules(const Module& root);

// The weight a quantized module uses now: the frozen one, or a fresh quantization of the float
// weight (quanto's dynamic `qweight` before freeze()).
QuantizedWeight current_quantized_weight(const Module& module, const std::string& name);

}  // namespace pq::nn
