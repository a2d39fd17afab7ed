#include "host/models/architecture.h"

#include "host/errors.h"
#include "host/models/bert_config.h"
#include "host/models/decoder_config.h"

namespace pq::models {
namespace {

std::string supported_list() {
  std::string names;
  for (const auto& a : decoder_architectures()) names += a + ", ";
  return names + "BertModel, BertForMaskedLM, and nn.Sequential descriptions with a \"layers\" array";
}

}  // namespace

ModelKind model_kind(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object()) throw FormatError(source + ": expected a JSON object");
  if (config.contains("layers")) return ModelKind::Sequential;
  std::string architecture;
  if (config.contains("architectures") && config.at("architectures").is_array() && !config.at("architectures").empty() &&
      config.at("architectures")[0].is_string()) {
    architecture = config.at("architectures")[0].get<std::string>();
  } else if (config.contains("model_type") && config.at("model_type").is_string()) {
    const std::string type = config.at("model_type").get<std::string>();
    if (type == "bert") return ModelKind::Encoder;
    if (type == "llama" || type == "mistral" || type == "qwen2") return ModelKind::Decoder;
    throw FormatError(source + ": model_type '" + type + "' is not supported (supported: " + supported_list() + ")");
  } else {
    throw FormatError(source + ": neither \"architectures\" nor \"model_type\" nor \"layers\" says what model this is");
  }
  if (is_decoder_architecture(architecture)) return ModelKind::Decoder;
  if (is_encoder_architecture(architecture)) return ModelKind::Encoder;
  throw FormatError(source + ": architectures: '" + architecture + "' is not supported (supported: " + supported_list() + ")");
}

std::string describe_architecture(const nlohmann::json& config, const std::string& source) {
  auto n = [](int64_t v) { return std::to_string(v); };
  switch (model_kind(config, source)) {
    case ModelKind::Sequential:
      return "";
    case ModelKind::Decoder: {
      const DecoderConfig c = parse_decoder_config(config, source);
      const char* rope = c.rope.type == RopeType::Default ? "default" : c.rope.type == RopeType::Linear ? "linear" : "llama3";
      return c.architecture + ": " + n(c.num_layers) + " layers, hidden " + n(c.hidden_size) + ", " + n(c.num_heads) + " heads (" +
             n(c.num_kv_heads) + " KV heads, head dim " + n(c.head_dim) + "), intermediate " + n(c.intermediate_size) + ", vocab " +
             n(c.vocab_size) + (c.tie_word_embeddings ? ", tied embeddings" : "") + ", rope " + rope + " theta " +
             std::to_string(static_cast<long long>(c.rope.theta)) + ", context " + n(c.max_context());
    }
    case ModelKind::Encoder: {
      const BertConfig c = parse_bert_config(config, source);
      return c.architecture + ": " + n(c.num_layers) + " layers, hidden " + n(c.hidden_size) + ", " + n(c.num_heads) +
             " heads, intermediate " + n(c.intermediate_size) + ", vocab " + n(c.vocab_size) + ", " +
             n(c.max_position_embeddings) + " positions";
    }
  }
  return "";
}

}  // namespace pq::models
