// BERT encoders (BertModel; BertForMaskedLM's `bert.` part; sentence-transformers directories
// such as all-MiniLM-L6-v2) as their config.json describes them, validated in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/dtype.h"

namespace pq::models {

struct BertConfig {
  std::string architecture;  // "BertModel" or "BertForMaskedLM"
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 1e-12;
  bool gelu_tanh = false;  // hidden_act gelu_new / gelu_pytorch_tanh; "gelu" is the erf form
  std::optional<int64_t> pad_token_id;
  std::optional<DType> dtype;
  std::vector<std::string> unknown_keys;

  int64_t head_dim() const { return hidden_size / num_heads; }
};

bool is_encoder_architecture(const std::string& architecture);
BertConfig parse_bert_config(const nlohmann::json& config, const std::string& source);

}  // namespace pq::models
