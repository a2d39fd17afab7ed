#include "host/gguf/decoder_spec.h"

#include <array>
#include <limits>

namespace pq::gguf {
namespace {

using ordered_json = nlohmann::ordered_json;

struct ArchitectureInfo {
  const char* gguf_name;
  const char* model_type;
  const char* hf_class;
  bool qk_rows_permuted;  // transformers undoes llama.cpp's q/k permutation for "llama" only
  bool attention_bias;
};

constexpr std::array kArchitectures = {
    ArchitectureInfo{"llama", "llama", "LlamaForCausalLM", true, false},
    ArchitectureInfo{"qwen2", "qwen2", "Qwen2ForCausalLM", false, true},
};

const ArchitectureInfo& architecture_info(const GgufFile& file, const std::string& name) {
  for (const ArchitectureInfo& info : kArchitectures) {
    if (name == info.gguf_name) return info;
  }
  file.fail_key("general.architecture", "architecture '" + name + "' is not supported (llama, qwen2 are)");
}

// A positive count that must be there.
int64_t required_count(const GgufFile& file, const std::string& key) {
  const std::optional<uint64_t> value = file.get_uint(key);
  if (!value) file.fail_key(key, "is missing");
  if (*value == 0 || *value > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    file.fail_key(key, "must be in [1, 2^31), got " + std::to_string(*value));
  }
  return static_cast<int64_t>(*value);
}

double required_positive(const GgufFile& file, const std::string& key, std::optional<double> fallback = std::nullopt) {
  const std::optional<double> value = file.get_float(key);
  if (!value && !fallback) file.fail_key(key, "is missing");
  const double number = value.value_or(fallback.value_or(0));
  if (!(number > 0) || number == std::numeric_limits<double>::infinity()) {
    file.fail_key(key, "must be a finite number > 0, got " + std::to_string(number));
  }
  return number;
}

std::optional<int64_t> token_id(const GgufFile& file, const std::string& key, int64_t vocab_size) {
  const std::optional<uint64_t> id = file.get_uint(key);
  if (!id) return std::nullopt;
  if (*id >= static_cast<uint64_t>(vocab_size)) {
    file.fail_key(key, "token id " + std::to_string(*id) + " is outside the vocabulary of " + std::to_string(vocab_size));
  }
  return static_cast<int64_t>(*id);
}

// llama.cpp's `<arch>.rope.scaling.*`; transformers' GGUF loader ignores these for llama, which
// silently changes the model, so we carry them over.
ordered_json read_rope_scaling(const GgufFile& file, const std::string& arch) {
  const std::string prefix = arch + ".rope.scaling.";
  const std::optional<std::string> type = file.get_string(prefix + "type");
  if (!type || *type == "none") return nullptr;
  const double factor = required_positive(file, prefix + "factor");
  if (*type == "linear") return ordered_json{{"factor", factor}, {"rope_type", "linear"}};
  if (*type == "yarn") {
    ordered_json scaling{{"factor", factor}, {"rope_type", "yarn"}};
    if (const auto original = file.get_uint(prefix + "original_context_length")) {
      scaling["original_max_position_embeddings"] = *original;
    }
    return scaling;
  }
  file.fail_key(prefix + "type", "rope scaling '" + *type + "' is not supported (none, linear, yarn are)");
}

void check_consistent(const GgufFile& file, const DecoderSpec& spec, const std::string& arch) {
  if (spec.num_attention_heads % spec.num_key_value_heads != 0) {
    file.fail_key(arch + ".attention.head_count_kv", std::to_string(spec.num_key_value_heads) + " does not divide " +
                                                          std::to_string(spec.num_attention_heads) + " attention heads");
  }
  if (spec.qk_rows_permuted && spec.head_dim % 2 != 0) {
    file.fail_key(arch + ".rope.dimension_count", "head_dim " + std::to_string(spec.head_dim) + " must be even");
  }
  if (file.find_tensor("rope_freqs.weight") != nullptr) {
    file.fail_tensor("rope_freqs.weight", "per-frequency rope factors (llama3-style rope scaling) are not supported");
  }
}

}  // namespace

DecoderSpec read_decoder_spec(const GgufFile& file) {
  const std::optional<std::string> arch_name = file.get_string("general.architecture");
  if (!arch_name) file.fail_key("general.architecture", "is missing");
  const ArchitectureInfo& arch_info = architecture_info(file, *arch_name);
  const std::string& arch = *arch_name;

  DecoderSpec spec;
  spec.architecture = arch;
  spec.model_type = arch_info.model_type;
  spec.hf_class = arch_info.hf_class;
  spec.qk_rows_permuted = arch_info.qk_rows_permuted;
  spec.attention_bias = arch_info.attention_bias;
  spec.hidden_size = required_count(file, arch + ".embedding_length");
  spec.intermediate_size = required_count(file, arch + ".feed_forward_length");
  spec.num_hidden_layers = required_count(file, arch + ".block_count");
  spec.num_attention_heads = required_count(file, arch + ".attention.head_count");
  spec.num_key_value_heads = file.get_uint(arch + ".attention.head_count_kv")
                                 ? required_count(file, arch + ".attention.head_count_kv")
                                 : spec.num_attention_heads;
  spec.max_position_embeddings = required_count(file, arch + ".context_length");
  // transformers takes head_dim from rope.dimension_count (llama only).
  const bool has_rope_dims = arch != "qwen2" && file.get_uint(arch + ".rope.dimension_count");
  spec.head_dim = has_rope_dims ? required_count(file, arch + ".rope.dimension_count")
                                : spec.hidden_size / spec.num_attention_heads;
  if (!has_rope_dims && spec.hidden_size % spec.num_attention_heads != 0) {
    file.fail_key(arch + ".attention.head_count", "does not divide embedding_length " + std::to_string(spec.hidden_size));
  }
  spec.rms_norm_eps = required_positive(file, arch + ".attention.layer_norm_rms_epsilon");
  spec.rope_theta = required_positive(file, arch + ".rope.freq_base", 10000.0);
  spec.rope_scaling = read_rope_scaling(file, arch);
  const std::vector<std::string>* tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (file.get_uint(arch + ".vocab_size")) {
    spec.vocab_size = required_count(file, arch + ".vocab_size");
  } else if (tokens != nullptr && !tokens->empty()) {
    spec.vocab_size = static_cast<int64_t>(tokens->size());
  } else {
    file.fail_key(arch + ".vocab_size", "is missing, and there is no tokenizer.ggml.tokens to count");
  }
  spec.tie_word_embeddings = file.find_tensor("output.weight") == nullptr;
  spec.bos_token_id = token_id(file, "tokenizer.ggml.bos_token_id", spec.vocab_size);
  spec.eos_token_id = token_id(file, "tokenizer.ggml.eos_token_id", spec.vocab_size);
  spec.pad_token_id = token_id(file, "tokenizer.ggml.padding_token_id", spec.vocab_size);
  spec.unk_token_id = token_id(file, "tokenizer.ggml.unknown_token_id", spec.vocab_size);
  check_consistent(file, spec, arch);
  return spec;
}

namespace {

void put_token_ids(ordered_json& json, const DecoderSpec& spec) {
  const auto put = [&](const char* key, const std::optional<int64_t>& id) {
    if (id) json[key] = *id;
  };
  put("bos_token_id", spec.bos_token_id);
  put("eos_token_id", spec.eos_token_id);
  put("pad_token_id", spec.pad_token_id);
}

}  // namespace

ordered_json hf_config_json(const DecoderSpec& spec, DType dtype) {
  // Keys sorted, as transformers writes them.
  ordered_json config;
  config["architectures"] = ordered_json::array({spec.hf_class});
  if (spec.model_type == "llama") config["attention_bias"] = false;
  config["attention_dropout"] = 0.0;
  if (spec.bos_token_id) config["bos_token_id"] = *spec.bos_token_id;
  if (spec.eos_token_id) config["eos_token_id"] = *spec.eos_token_id;
  if (spec.model_type != "qwen2") config["head_dim"] = spec.head_dim;
  config["hidden_act"] = "silu";
  config["hidden_size"] = spec.hidden_size;
  config["initializer_range"] = 0.02;
  config["intermediate_size"] = spec.intermediate_size;
  config["max_position_embeddings"] = spec.max_position_embeddings;
  if (spec.model_type == "qwen2") config["max_window_layers"] = 28;  // Qwen2Config's default; unused without sliding windows
  if (spec.model_type == "llama") config["mlp_bias"] = false;
  config["model_type"] = spec.model_type;
  config["num_attention_heads"] = spec.num_attention_heads;
  config["num_hidden_layers"] = spec.num_hidden_layers;
  config["num_key_value_heads"] = spec.num_key_value_heads;
  if (spec.pad_token_id) config["pad_token_id"] = *spec.pad_token_id;
  if (spec.model_type == "llama") config["pretraining_tp"] = 1;
  config["rms_norm_eps"] = spec.rms_norm_eps;
  config["rope_scaling"] = spec.rope_scaling;
  config["rope_theta"] = spec.rope_theta;
  if (spec.model_type != "llama") config["sliding_window"] = nullptr;
  config["tie_word_embeddings"] = spec.tie_word_embeddings;
  config["torch_dtype"] = dtype == DType::F16 ? "float16" : dtype == DType::BF16 ? "bfloat16" : "float32";
  if (spec.unk_token_id) config["unk_token_id"] = *spec.unk_token_id;
  config["use_cache"] = true;
  if (spec.model_type == "qwen2") config["use_sliding_window"] = false;
  config["vocab_size"] = spec.vocab_size;
  return config;
}

ordered_json hf_generation_config_json(const DecoderSpec& spec) {
  ordered_json config;
  config["_from_model_config"] = true;
  put_token_ids(config, spec);
  return config;
}

}  // namespace pq::gguf
