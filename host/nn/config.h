// config.json: a torch nn.Sequential described layer by layer (module names "0", "1", ...):
//   {"architecture": "Sequential", "input_shape": [1, 8, 8], "dtype": "float32", "num_classes": 10,
//    "layers": [{"type": "Conv2d", "in_channels": 1, ...}, {"type": "ReLU"}, ...]}
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "host/nn/module.h"

namespace pq::nn {

inline constexpr const char* kConfigFileName = "config.json";

// The module tree the config describes, with no weights yet. Every value is checked before use
// (types, ranges, torch's constraints such as groups dividing the channels; keys a layer type
// does not have are refused), and "input_shape", "dtype" and "num_classes" are checked too.
// Throws FormatError naming `source` and the key path ("layers[3].groups: ...").
// Whether consecutive layers fit each other depends on the input: see shape_check.h.
std::unique_ptr<Module> build_from_config(const nlohmann::json& config, const std::string& source);

// The shape config.json implies for a module's "weight" / "bias" (empty optional: none).
Shape expected_weight_shape(const Module& module);
std::optional<Shape> expected_bias_shape(const Module& module);

}  // namespace pq::nn
