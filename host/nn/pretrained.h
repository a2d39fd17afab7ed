// Model directories: config.json + model.safetensors (or shards + index) + quanto_qmap.json,
// as optimum-quanto's save_pretrained writes them. Float model directories (no qmap) load too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "host/checkpoint.h"
#include "host/nn/module.h"
#include "host/quanto_qmap.h"

namespace pq::nn {

struct Model {
  nlohmann::json config;  // config.json as read; written back unchanged
  std::unique_ptr<Module> root;
  // config's "input_shape" (one sample, no batch dim); empty when the config has none.
  Shape input_shape() const;
};

// Reads config.json, the checkpoint and (when present) quanto_qmap.json. Quantized modules are
// rebuilt frozen from their stored tensors; group sizes come from our __metadata__, else from
// quanto's rule. Throws FormatError naming the module, the tensor and both shapes when the
// weights do not fit the config, or a missing tensor.
Model load_pretrained(const std::filesystem::path& dir);

// quanto's requantize(): marks the modules of `qmap` quantized and loads their stored
// (frozen) tensors, float tensors of the others, and the activation scales.
void requantize(Model& model, const Checkpoint& checkpoint, const QuantizationMap& qmap);

struct SaveOptions {
  uint64_t max_shard_bytes = uint64_t{2} << 30;
  bool overwrite = false;
};

// Writes the directory atomically (staging directory renamed into place). Unfrozen quantized
// modules are saved as quanto saves them: float weight + scales.
void save_pretrained(const Model& model, const std::filesystem::path& dir, const SaveOptions& options = {});

}  // namespace pq::nn
