#include "host/models/bert_config.h"

#include "host/json_fields.h"
#include "host/models/decoder_config.h"

namespace pq::models {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 20;

const std::vector<std::string>& encoder_architectures() {
  static const std::vector<std::string> names = {"BertModel", "BertForMaskedLM"};
  return names;
}

// Keys transformers writes that do not change what an inference forward computes.
const std::vector<std::string>& inference_irrelevant_keys() {
  static const std::vector<std::string> keys = {
      "_name_or_path", "transformers_version", "initializer_range", "use_cache", "hidden_dropout_prob",
      "attention_probs_dropout_prob", "classifier_dropout", "id2label", "label2id", "output_attentions",
      "output_hidden_states", "return_dict", "problem_type", "gradient_checkpointing", "model_type",
      "architectures", "torch_dtype", "dtype", "pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings",
      "is_encoder_decoder", "tokenizer_class", "num_labels", "finetuning_task", "_attn_implementation_autoset",
      "torchscript", "prefix", "task_specific_params", "sep_token_id", "decoder_start_token_id"};
  return keys;
}

}  // namespace

bool is_encoder_architecture(const std::string& architecture) {
  for (const auto& n : encoder_architectures()) {
    if (n == architecture) return true;
  }
  return false;
}

BertConfig parse_bert_config(const nlohmann::json& config, const std::string& source) {
  const JsonFields f(config, source);
  BertConfig c;
  const std::vector<std::string> archs = f.strings("architectures");
  if (archs.size() > 1) f.fail("architectures", "expected one architecture, got " + std::to_string(archs.size()));
  c.architecture = archs.empty() ? "BertModel" : archs[0];
  if (!is_encoder_architecture(c.architecture)) {
    f.fail("architectures", "'" + c.architecture + "' is not a supported encoder (supported: BertModel, BertForMaskedLM)");
  }
  if (f.string("model_type", "bert") != "bert") f.fail("model_type", "'" + f.string("model_type") + "' is not bert");
  if (f.has("quantization_config")) f.fail("quantization_config", "models quantized by other tools are not supported");
  c.hidden_size = f.integer("hidden_size", 1, kMaxDim, 768);
  c.num_layers = f.integer("num_hidden_layers", 1, 4096, 12);
  c.num_heads = f.integer("num_attention_heads", 1, kMaxDim, 12);
  if (c.hidden_size % c.num_heads != 0) {
    f.fail("num_attention_heads", std::to_string(c.num_heads) + " does not divide hidden_size " + std::to_string(c.hidden_size));
  }
  if (c.head_dim() > 256) f.fail("num_attention_heads", "head size " + std::to_string(c.head_dim()) + " is above 256");
  c.intermediate_size = f.integer("intermediate_size", 1, kMaxDim, 3072);
  c.vocab_size = f.integer("vocab_size", 1, int64_t{1} << 24, 30522);
  c.max_position_embeddings = f.integer("max_position_embeddings", 1, int64_t{1} << 20, 512);
  c.type_vocab_size = f.integer("type_vocab_size", 1, 1 << 16, 2);
  c.layer_norm_eps = f.number("layer_norm_eps", 0.0, 1.0, 1e-12);
  const std::string act = f.string("hidden_act", "gelu");
  if (act != "gelu" && act != "gelu_new" && act != "gelu_pytorch_tanh") {
    f.fail("hidden_act", "'" + act + "' is not supported (gelu, gelu_new, gelu_pytorch_tanh)");
  }
  c.gelu_tanh = act != "gelu";
  const std::string position = f.string("position_embedding_type", "absolute");
  if (position != "absolute") f.fail("position_embedding_type", "'" + position + "' is not supported (only absolute)");
  if (f.boolean("is_decoder", false)) f.fail("is_decoder", "BERT as a decoder is not supported");
  if (f.boolean("add_cross_attention", false)) f.fail("add_cross_attention", "cross-attention is not supported");
  if (f.has("chunk_size_feed_forward") && f.integer("chunk_size_feed_forward", 0, 0) != 0) f.fail("chunk_size_feed_forward", "must be 0");
  c.pad_token_id = f.optional_integer("pad_token_id", 0, c.vocab_size - 1);
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!f.has(key)) continue;
    c.dtype = config_dtype(f.string(key));
    if (!c.dtype) f.fail(key, "'" + f.string(key) + "' is not a float dtype this runtime runs (float32, float16, bfloat16)");
  }
  f.accept(inference_irrelevant_keys());
  c.unknown_keys = f.unconsumed();
  return c;
}

}  // namespace pq::models
