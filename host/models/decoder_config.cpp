#include "host/models/decoder_config.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "host/errors.h"
#include "host/json_fields.h"

namespace pq::models {
namespace {

using nlohmann::json;

constexpr int64_t kMaxDim = int64_t{1} << 20;       // hidden sizes, heads, layers: far above any model
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxPositions = int64_t{1} << 24;

// What transformers' config classes default to when config.json leaves a key out.
struct ClassDefaults {
  const char* architecture;
  const char* model_type;
  double rms_norm_eps;
  int64_t max_position_embeddings;
  std::optional<int64_t> sliding_window;
  bool always_qkv_bias;
};

const std::vector<ClassDefaults>& class_defaults() {
  static const std::vector<ClassDefaults> table = {
      {"LlamaForCausalLM", "llama", 1e-6, 2048, std::nullopt, false},
      {"MistralForCausalLM", "mistral", 1e-6, 4096 * 32, 4096, false},
      {"Qwen2ForCausalLM", "qwen2", 1e-6, 32768, std::nullopt, true},
  };
  return table;
}

// Keys transformers writes that do not change what an inference forward computes.
const std::vector<std::string>& inference_irrelevant_keys() {
  static const std::vector<std::string> keys = {
      "_name_or_path", "transformers_version", "initializer_range", "use_cache", "attention_dropout",
      "id2label", "label2id", "output_attentions", "output_hidden_states", "return_dict", "problem_type",
      "pretraining_tp", "is_encoder_decoder", "chunk_size_feed_forward", "tokenizer_class", "max_window_layers",
      "bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "torch_dtype", "dtype", "model_type",
      "architectures", "_attn_implementation_autoset", "tie_encoder_decoder", "torchscript", "prefix",
      "task_specific_params", "finetuning_task", "add_cross_attention", "cross_attention_hidden_size",
      "decoder_start_token_id", "sep_token_id", "num_labels", "gradient_checkpointing"};
  return keys;
}

const ClassDefaults& defaults_for(const JsonFields& f) {
  const std::vector<std::string> archs = f.strings("architectures");
  if (archs.size() > 1) f.fail("architectures", "expected one architecture, got " + std::to_string(archs.size()));
  if (archs.empty()) {
    const std::string type = f.string("model_type", "");
    for (const auto& d : class_defaults()) {
      if (type == d.model_type) return d;
    }
    f.fail("architectures", "missing, and model_type '" + type + "' is not one of llama, mistral, qwen2");
  }
  for (const auto& d : class_defaults()) {
    if (archs[0] == d.architecture) return d;
  }
  std::string known;
  for (const auto& d : class_defaults()) known += std::string(known.empty() ? "" : ", ") + d.architecture;
  f.fail("architectures", "'" + archs[0] + "' is not a supported decoder (supported: " + known + ")");
}

RopeType rope_type_named(const JsonFields& f, const std::string& key, const std::string& name) {
  if (name == "default") return RopeType::Default;
  if (name == "linear") return RopeType::Linear;
  if (name == "llama3") return RopeType::Llama3;
  f.fail(key, "rope type '" + name + "' is not supported (supported: default, linear, llama3)");
}

// transformers 5 writes rope_parameters {rope_theta, rope_type, factor, ...}; transformers 4
// wrote rope_theta at the top level and rope_scaling {type|rope_type, factor, ...} or null.
RopeConfig parse_rope(const JsonFields& f, int64_t max_positions) {
  RopeConfig rope;
  f.accept({"rope_parameters", "rope_scaling"});  // null: no scaling
  std::optional<JsonFields> params;
  if (f.has("rope_parameters")) params = f.object("rope_parameters");
  if (f.has("rope_scaling")) {
    if (params) f.fail("rope_scaling", "given together with rope_parameters");
    params = f.object("rope_scaling");
  }
  rope.theta = f.number("rope_theta", 1.0 + 1e-9, 1e12, 10000.0);
  if (!params) return rope;
  if (params->has("rope_theta")) rope.theta = params->number("rope_theta", 1.0 + 1e-9, 1e12);
  const std::string type_key = params->has("rope_type") ? "rope_type" : "type";
  rope.type = rope_type_named(*params, type_key, params->string(type_key, "default"));
  if (params->has("partial_rotary_factor") && params->number("partial_rotary_factor", 0.0, 1.0) != 1.0) {
    params->fail("partial_rotary_factor", "partial rotary embeddings are not supported (only 1.0)");
  }
  if (rope.type != RopeType::Default) rope.factor = params->number("factor", 1e-6, 1e6);
  if (rope.type == RopeType::Llama3) {
    rope.low_freq_factor = params->number("low_freq_factor", 1e-6, 1e6);
    rope.high_freq_factor = params->number("high_freq_factor", 1e-6, 1e6);
    if (rope.high_freq_factor <= rope.low_freq_factor) {
      params->fail("high_freq_factor", "must be greater than low_freq_factor");
    }
    rope.original_max_positions = params->integer("original_max_position_embeddings", 1, kMaxPositions, max_positions);
  }
  params->accept({"rope_theta", "rope_type", "type", "factor", "low_freq_factor", "high_freq_factor",
                  "original_max_position_embeddings", "partial_rotary_factor"});
  for (const auto& key : params->unconsumed()) f.fail(key, "unsupported rope parameter");
  return rope;
}

// Mistral's window (when set) and Qwen2's opt-in sliding layers.
std::optional<int64_t> parse_sliding_window(const JsonFields& f, const ClassDefaults& d, int64_t layers) {
  if (std::string(d.model_type) == "qwen2") {
    if (f.boolean("use_sliding_window", false)) {
      f.fail("use_sliding_window", "sliding-window attention layers are not supported");
    }
    f.accept({"sliding_window"});
    const std::vector<std::string> types = f.strings("layer_types");
    if (!types.empty() && static_cast<int64_t>(types.size()) != layers) {
      f.fail("layer_types", "has " + std::to_string(types.size()) + " entries for " + std::to_string(layers) + " layers");
    }
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] != "full_attention") f.fail("layer_types[" + std::to_string(i) + "]", "'" + types[i] + "' is not supported (only full_attention)");
    }
    return std::nullopt;
  }
  if (std::string(d.model_type) == "mistral") {
    if (!f.present("sliding_window")) return d.sliding_window;
    if (!f.has("sliding_window")) {
      f.accept({"sliding_window"});
      return std::nullopt;
    }
    return f.integer("sliding_window", 1, kMaxPositions);
  }
  if (f.has("sliding_window")) f.fail("sliding_window", "sliding-window attention is not supported for this architecture");
  return std::nullopt;
}

std::optional<int64_t> optional_token(const JsonFields& f, const std::string& key, int64_t vocab) {
  return f.optional_integer(key, 0, vocab - 1);
}

}  // namespace

int64_t DecoderConfig::max_context() const {
  return sliding_window ? std::min(*sliding_window, max_position_embeddings) : max_position_embeddings;
}

const std::vector<std::string>& decoder_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& d : class_defaults()) out.push_back(d.architecture);
    return out;
  }();
  return names;
}

bool is_decoder_architecture(const std::string& architecture) {
  const auto& names = decoder_architectures();
  return std::find(names.begin(), names.end(), architecture) != names.end();
}

std::optional<DType> config_dtype(const std::string& name) {
  if (name == "float32") return DType::F32;
  if (name == "float16") return DType::F16;
  if (name == "bfloat16") return DType::BF16;
  return std::nullopt;
}

DecoderConfig parse_decoder_config(const json& config, const std::string& source) {
  const JsonFields f(config, source);
  const ClassDefaults& d = defaults_for(f);
  DecoderConfig c;
  c.architecture = d.architecture;
  if (f.has("model_type") && f.string("model_type") != d.model_type) {
    f.fail("model_type", "'" + f.string("model_type") + "' does not match architecture " + c.architecture);
  }
  if (f.has("quantization_config")) {
    f.fail("quantization_config", "models quantized by other tools are not supported (optimum-quanto's files carry a quanto_qmap.json instead)");
  }
  c.hidden_size = f.integer("hidden_size", 1, kMaxDim);
  c.intermediate_size = f.integer("intermediate_size", 1, kMaxDim);
  c.num_layers = f.integer("num_hidden_layers", 1, 4096);
  c.num_heads = f.integer("num_attention_heads", 1, kMaxDim);
  c.num_kv_heads = f.integer("num_key_value_heads", 1, c.num_heads, c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0) {
    f.fail("num_key_value_heads", std::to_string(c.num_kv_heads) + " does not divide num_attention_heads " + std::to_string(c.num_heads));
  }
  if (!f.has("head_dim") && c.hidden_size % c.num_heads != 0) {
    f.fail("num_attention_heads", std::to_string(c.num_heads) + " does not divide hidden_size " + std::to_string(c.hidden_size) + " and no head_dim is given");
  }
  c.head_dim = f.integer("head_dim", 2, 256, c.hidden_size / c.num_heads);
  if (c.head_dim % 2 != 0) f.fail("head_dim", "must be even for rotary embeddings, got " + std::to_string(c.head_dim));
  c.vocab_size = f.integer("vocab_size", 1, kMaxVocab);
  c.max_position_embeddings = f.integer("max_position_embeddings", 1, kMaxPositions, d.max_position_embeddings);
  c.rms_norm_eps = f.number("rms_norm_eps", 0.0, 1.0, d.rms_norm_eps);
  const std::string act = f.string("hidden_act", "silu");
  if (act != "silu") f.fail("hidden_act", "'" + act + "' is not supported (only silu)");
  c.rope = parse_rope(f, c.max_position_embeddings);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  const bool attention_bias = f.boolean("attention_bias", false);
  c.qkv_bias = d.always_qkv_bias || attention_bias;
  c.o_bias = attention_bias;
  c.mlp_bias = f.boolean("mlp_bias", false);
  c.sliding_window = parse_sliding_window(f, d, c.num_layers);
  c.bos_token_id = optional_token(f, "bos_token_id", c.vocab_size);
  c.eos_token_ids = f.integers("eos_token_id", 0, c.vocab_size - 1);
  c.pad_token_id = optional_token(f, "pad_token_id", c.vocab_size);
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!f.has(key)) continue;
    const std::string name = f.string(key);
    c.dtype = config_dtype(name);
    if (!c.dtype) f.fail(key, "'" + name + "' is not a float dtype this runtime runs (float32, float16, bfloat16)");
  }
  if (f.has("chunk_size_feed_forward") && f.integer("chunk_size_feed_forward", 0, 0) != 0) {
    f.fail("chunk_size_feed_forward", "must be 0");
  }
  if (f.boolean("is_encoder_decoder", false)) f.fail("is_encoder_decoder", "must be false for a decoder");
  f.accept(inference_irrelevant_keys());
  c.unknown_keys = f.unconsumed();
  return c;
}

std::vector<float> rope_inv_freq(const RopeConfig& rope, int64_t head_dim) {
  // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), every step in float32; a
  // python-float / tensor division is reciprocal() * scalar there.
  const auto base = static_cast<float>(rope.theta);
  const auto dim = static_cast<float>(head_dim);
  std::vector<float> inv(static_cast<size_t>(head_dim / 2));
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / std::pow(base, static_cast<float>(2 * i) / dim);
  if (rope.type == RopeType::Linear) {
    for (float& v : inv) v /= static_cast<float>(rope.factor);
  }
  if (rope.type == RopeType::Llama3) {
    const auto factor = static_cast<float>(rope.factor);
    const auto old_len = static_cast<double>(rope.original_max_positions);
    const auto low_wavelen = static_cast<float>(old_len / rope.low_freq_factor);
    const auto high_wavelen = static_cast<float>(old_len / rope.high_freq_factor);
    const auto span = static_cast<float>(rope.high_freq_factor - rope.low_freq_factor);
    for (float& v : inv) {
      const float wavelen = (1.0f / v) * static_cast<float>(2.0 * std::numbers::pi);
      const float scaled = wavelen > low_wavelen ? v / factor : v;
      const float smooth = ((1.0f / wavelen) * static_cast<float>(old_len) - static_cast<float>(rope.low_freq_factor)) / span;
      const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      v = medium ? smoothed : scaled;
    }
  }
  return inv;
}

}  // namespace pq::models
