// quantize() / freeze() / quantization_map() over a module tree, as optimum-quanto does them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "host/nn/module.h"
#include "host/quanto_qmap.h"

namespace pq::nn {

struct QuantizeConfig {
  std::optional<QType> weights = QType::QInt8;  // nullopt = "none"
  std::optional<QType> activations;              // qint8 or a qfloat8; nullopt = "none"
  std::optional<Optimizer> optimizer;            // default: absmax (8-bit), max (2/4-bit)
  std::optional<int> group_size;                 // sub-byte weights; default quanto's rule
  std::vector<std::string> include;              // fnmatch patterns, as quanto matches them
  std::vector<std::string> exclude;
};

// Marks every selected module that has a quantized form (unfrozen: weights are re-quantized on
// every forward until freeze()). Modules that cannot take the request are skipped as quanto
// skips them (LayerNorm without activations). Returns the names of the quantized modules.
std::vector<std::string> quantize(Module& root, const QuantizeConfig& config);

// Quantizes one module (as quantize() does for each selected one). False when the module has no
// quantized form for this request.
bool quantize_module(Module& module, const QuantizeConfig& config);

// Replaces each quantized module's float weight by its quantization (quanto's freeze()).
// `on_module` (optional) is called after each module with its name and the count done.
void freeze(Module& root, const std::function<void(const std::string& name, size_t done, size_t total)>& on_module = {});

// {"<module>": {"weights": ..., "activations": ...}} for every quantized module.
QuantizationMap quantization_map(const Module& root);

}  // namespace pq::nn
