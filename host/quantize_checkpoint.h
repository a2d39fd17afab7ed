// Quantizes the weights of a float checkpoint into an optimum-quanto model directory
// (model.safetensors or shards + index, quanto_qmap.json, config.json copied over).
// Without an architecture (that comes with the nn modules and host/models), only what quanto
// would replace may be quantized: a float <module>.weight of rank 4 is a Conv2d kernel; one of
// rank 2 may be a Linear weight or an embedding table, so it is quantized only when --include
// selects its module, and refused (with a message asking for --include) otherwise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/quant/quantized_weight.h"

namespace pq {

struct QuantizeProgress {
  size_t done;
  size_t total;
  const std::string& module;
};

struct CheckpointQuantizeOptions {
  QType weights = QType::QInt8;
  QuantizeOptions weight_options;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  uint64_t max_shard_bytes = uint64_t{2} << 30;
  bool overwrite = false;  // replace an existing output directory
  std::function<void(const QuantizeProgress&)> on_module_done;
};

struct QuantizeSummary {
  std::vector<std::string> quantized;  // module names
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
};

// The output directory appears complete or not at all: everything is written into a hidden
// sibling directory that is renamed into place at the end.
QuantizeSummary quantize_checkpoint(const std::filesystem::path& input, const std::filesystem::path& output_dir,
                                    const CheckpointQuantizeOptions& options);

}  // namespace pq
