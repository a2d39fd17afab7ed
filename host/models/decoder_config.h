// The Llama family of decoders (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) as a
// Hugging Face config.json describes them, validated in one place: every value the runtime
// uses is checked here, and a key or value we cannot honour is refused by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/dtype.h"

namespace pq::models {

enum class RopeType { Default, Linear, Llama3 };

struct RopeConfig {
  RopeType type = RopeType::Default;
  double theta = 10000.0;
  double factor = 1.0;                      // linear, llama3
  double low_freq_factor = 1.0;             // llama3
  double high_freq_factor = 4.0;            // llama3
  int64_t original_max_positions = 8192;    // llama3
};

struct DecoderConfig {
  std::string architecture;  // "LlamaForCausalLM", ...
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;     // Llama attention_bias, always on for Qwen2
  bool o_bias = false;       // Llama attention_bias
  bool mlp_bias = false;
  // Mistral's sliding window: attention over the whole context is the same as long as the
  // context stays inside the window, so it becomes a cap on the context length.
  std::optional<int64_t> sliding_window;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  std::optional<DType> dtype;  // torch_dtype / dtype, when given
  // Keys of config.json this implementation neither uses nor knows to be irrelevant.
  std::vector<std::string> unknown_keys;

  // The longest context the model runs with: max_position_embeddings, capped by the window.
  int64_t max_context() const;
};

// The architectures this parser takes, for messages.
const std::vector<std::string>& decoder_architectures();
bool is_decoder_architecture(const std::string& architecture);

// Throws FormatError "<source>: <key>: ..." for a missing, mistyped or unsupported value.
DecoderConfig parse_decoder_config(const nlohmann::json& config, const std::string& source);

// Hugging Face's inverse frequencies (rope_init_fn) for head_dim, in float32 as transformers
// computes them, including the linear and llama3 scalings.
std::vector<float> rope_inv_freq(const RopeConfig& rope, int64_t head_dim);

// A torch dtype name of config.json ("float32", "float16", "bfloat16"), nullopt for others.
std::optional<DType> config_dtype(const std::string& name);

}  // namespace pq::models
