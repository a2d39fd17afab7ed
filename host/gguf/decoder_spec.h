// The decoder a GGUF file describes (llama.cpp's metadata keys, `<arch>.embedding_length`, ...)
// and the Hugging Face config.json / generation_config.json that describe the same model, as
// transformers writes them for LlamaForCausalLM (or Qwen2ForCausalLM). The values follow
// transformers' own GGUF loader, so a model converted here loads like one it converted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "host/dtype.h"
#include "host/gguf/gguf_file.h"

namespace pq::gguf {

struct DecoderSpec {
  std::string architecture;  // general.architecture: llama or qwen2
  std::string model_type;    // the transformers model_type
  std::string hf_class;      // LlamaForCausalLM, ...
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  int64_t vocab_size = 0;
  double rms_norm_eps = 0;
  double rope_theta = 0;
  nlohmann::ordered_json rope_scaling;  // null, or {"rope_type": ..., "factor": ...}
  bool tie_word_embeddings = true;      // no output.weight in the file
  bool attention_bias = false;          // qwen2: q/k/v carry biases
  bool qk_rows_permuted = false;        // llama.cpp permuted q/k rows (llama): undo on conversion
  std::optional<int64_t> bos_token_id, eos_token_id, pad_token_id, unk_token_id;
};

// Reads and checks the metadata; FormatError naming the file and the key for anything missing,
// mistyped or inconsistent, and for an architecture other than llama and qwen2.
DecoderSpec read_decoder_spec(const GgufFile& file);

// config.json in transformers-4 form (rope_theta + rope_scaling, torch_dtype); `dtype` is the
// dtype the weights are saved in.
nlohmann::ordered_json hf_config_json(const DecoderSpec& spec, DType dtype);
nlohmann::ordered_json hf_generation_config_json(const DecoderSpec& spec);

}  // namespace pq::gguf
