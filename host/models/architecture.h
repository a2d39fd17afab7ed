// Which kind of model a config.json describes: our nn.Sequential description ("layers"), a
// Hugging Face decoder (Llama family) or a Hugging Face encoder (BERT).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pq::models {

enum class ModelKind { Sequential, Decoder, Encoder };

// Throws FormatError naming `source` and the architecture when it is none of the supported ones.
ModelKind model_kind(const nlohmann::json& config, const std::string& source);

// One line describing a transformer config ("LlamaForCausalLM: 30 layers, hidden 576, ...");
// empty for nn.Sequential descriptions. Validates the config as loading does.
std::string describe_architecture(const nlohmann::json& config, const std::string& source);

}  // namespace pq::models
