// Model directories: config.json + model.safetensors (or shards + index) + quanto_qmap.json,
// as optimum-quanto's save_pretrained writes them. Float model directories (no qmap) load too.
// config.json describes either an nn.Sequential ("layers") or a Hugging Face decoder/encoder
// (host/models), whose parameter names map 1:1 onto the module tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/checkpoint.h"
#include "host/models/architecture.h"
#include "host/models/bert_config.h"
#include "host/models/decoder_config.h"
#include "host/nn/module.h"
#include "host/quanto_qmap.h"

namespace pq::nn {

struct Model {
  nlohmann::json config;  // config.json as read; written back unchanged but for tie_word_embeddings
  std::unique_ptr<Module> root;
  models::ModelKind kind = models::ModelKind::Sequential;
  std::optional<models::DecoderConfig> decoder;
  std::optional<models::BertConfig> encoder;
  DType dtype = DType::F32;            // of the float weights (the dtype the model runs in)
  std::filesystem::path dir;           // loaded from: tokenizer and generation files come along
  std::vector<std::string> warnings;   // config keys and checkpoint tensors nobody uses
  // Checkpoint tensors carried over unchanged (BertForMaskedLM's masked-LM head cls.*, which is
  // neither run nor quantized here), written back by save_pretrained.
  NamedTensors passthrough;
  // config's "input_shape" (one sample, no batch dim); empty when the config has none.
  Shape input_shape() const;
};

// Reads config.json, the checkpoint and (when present) quanto_qmap.json. Quantized modules are
// rebuilt frozen from their stored tensors; group sizes come from our __metadata__, else from
// quanto's rule. Throws FormatError naming the module, the tensor and both shapes when the
// weights do not fit the config, or a missing tensor.
Model load_pretrained(const std::filesystem::path& dir);

// quanto's requantize(): marks the modules of `qmap` quantized and loads their stored
// (frozen) tensors, float tensors of the others, and the activation scales. Tensor names are
// `tensor_prefix` + the module name (e.g. "bert." for a BertModel inside BertForMaskedLM).
// Returns the names of the checkpoint tensors it used.
std::vector<std::string> requantize(Model& model, const Checkpoint& checkpoint, const QuantizationMap& qmap,
                                    const std::string& tensor_prefix = "");

struct SaveOptions {
  uint64_t max_shard_bytes = uint64_t{2} << 30;
  bool overwrite = false;
  // Follows the tensors' bytes as they are written: (done, total).
  std::function<void(uint64_t done, uint64_t total)> on_bytes;
};

// Writes the directory atomically (staging directory renamed into place). Unfrozen quantized
// modules are saved as quanto saves them: float weight + scales. Tokenizer files, generation
// config and sentence-transformers module folders of `model.dir` are copied along; a tied
// lm_head is written as transformers writes it (not at all, or untied when it is quantized).
void save_pretrained(const Model& model, const std::filesystem::path& dir, const SaveOptions& options = {});

}  // namespace pq::nn
