#include "host/gguf/hf_weights.h"

#include <array>
#include <cstring>
#include <stdexcept>

namespace pq::gguf {
namespace {

struct LayerTensor {
  const char* gguf_leaf;  // blk.N.<leaf>.weight
  const char* hf_leaf;    // model.layers.N.<leaf>.weight
};

constexpr std::array kLayerTensors = {
    LayerTensor{"attn_norm", "input_layernorm"},   LayerTensor{"attn_q", "self_attn.q_proj"},
    LayerTensor{"attn_k", "self_attn.k_proj"},     LayerTensor{"attn_v", "self_attn.v_proj"},
    LayerTensor{"attn_output", "self_attn.o_proj"}, LayerTensor{"ffn_norm", "post_attention_layernorm"},
    LayerTensor{"ffn_gate", "mlp.gate_proj"},      LayerTensor{"ffn_up", "mlp.up_proj"},
    LayerTensor{"ffn_down", "mlp.down_proj"},
};

struct ParsedName {
  int64_t layer = -1;  // -1 outside the blocks
  std::string leaf;    // "attn_q", "token_embd", ...
  std::string suffix;  // "weight" or "bias"
};

// "blk.12.attn_q.weight" -> {12, "attn_q", "weight"}; "output_norm.weight" -> {-1, ...}.
bool parse_name(const std::string& name, ParsedName& parsed) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  parsed.suffix = name.substr(dot + 1);
  std::string stem = name.substr(0, dot);
  if (stem.rfind("blk.", 0) == 0) {
    const size_t end = stem.find('.', 4);
    if (end == std::string::npos || end == 4 || end - 4 > 9) return false;
    int64_t layer = 0;
    for (size_t i = 4; i < end; ++i) {
      if (stem[i] < '0' || stem[i] > '9') return false;
      layer = layer * 10 + (stem[i] - '0');
    }
    if (end > 5 && stem[4] == '0') return false;  // no leading zeros: one spelling per layer
    parsed.layer = layer;
    stem = stem.substr(end + 1);
  }
  parsed.leaf = stem;
  return true;
}

Shape layer_weight_shape(const DecoderSpec& spec, const std::string& leaf) {
  const int64_t q_rows = spec.num_attention_heads * spec.head_dim;
  const int64_t kv_rows = spec.num_key_value_heads * spec.head_dim;
  if (leaf == "attn_norm" || leaf == "ffn_norm") return {spec.hidden_size};
  if (leaf == "attn_q") return {q_rows, spec.hidden_size};
  if (leaf == "attn_k" || leaf == "attn_v") return {kv_rows, spec.hidden_size};
  if (leaf == "attn_output") return {spec.hidden_size, q_rows};
  if (leaf == "ffn_gate" || leaf == "ffn_up") return {spec.intermediate_size, spec.hidden_size};
  return {spec.hidden_size, spec.intermediate_size};  // ffn_down
}

const LayerTensor* find_layer_tensor(const std::string& leaf) {
  for (const LayerTensor& entry : kLayerTensors) {
    if (leaf == entry.gguf_leaf) return &entry;
  }
  return nullptr;
}

HfTensorTarget layer_target(const GgufFile& file, const DecoderSpec& spec, const GgufTensorInfo& tensor,
                            const ParsedName& parsed) {
  const LayerTensor* entry = find_layer_tensor(parsed.leaf);
  const bool is_qkv = parsed.leaf == "attn_q" || parsed.leaf == "attn_k" || parsed.leaf == "attn_v";
  const bool known_suffix = parsed.suffix == "weight" || (parsed.suffix == "bias" && spec.attention_bias && is_qkv);
  if (entry == nullptr || !known_suffix) file.fail_tensor(tensor.name, "is not a tensor of a " + spec.architecture + " model");
  if (parsed.layer >= spec.num_hidden_layers) {
    file.fail_tensor(tensor.name, "layer " + std::to_string(parsed.layer) + " is past the " +
                                      std::to_string(spec.num_hidden_layers) + " layers of " + spec.architecture +
                                      ".block_count");
  }
  HfTensorTarget target;
  target.name = "model.layers." + std::to_string(parsed.layer) + "." + entry->hf_leaf + "." + parsed.suffix;
  target.shape = layer_weight_shape(spec, parsed.leaf);
  if (parsed.suffix == "bias") target.shape.resize(1);
  target.unpermute_heads = 0;
  if (spec.qk_rows_permuted && parsed.leaf == "attn_q") target.unpermute_heads = spec.num_attention_heads;
  if (spec.qk_rows_permuted && parsed.leaf == "attn_k") target.unpermute_heads = spec.num_key_value_heads;
  return target;
}

}  // namespace

HfTensorTarget hf_tensor_target(const GgufFile& file, const DecoderSpec& spec, const GgufTensorInfo& tensor) {
  ParsedName parsed;
  if (!parse_name(tensor.name, parsed)) file.fail_tensor(tensor.name, "is not a tensor of a " + spec.architecture + " model");
  HfTensorTarget target;
  target.unpermute_heads = 0;
  if (parsed.layer >= 0) {
    target = layer_target(file, spec, tensor, parsed);
  } else if (parsed.suffix == "weight" && (parsed.leaf == "token_embd" || parsed.leaf == "output")) {
    target.name = parsed.leaf == "output" ? "lm_head.weight" : "model.embed_tokens.weight";
    target.shape = {spec.vocab_size, spec.hidden_size};
  } else if (parsed.suffix == "weight" && parsed.leaf == "output_norm") {
    target.name = "model.norm.weight";
    target.shape = {spec.hidden_size};
  } else {
    file.fail_tensor(tensor.name, "is not a tensor of a " + spec.architecture + " model");
  }
  if (tensor.shape != target.shape) {
    file.fail_tensor(tensor.name, "has shape " + shape_to_string(tensor.shape) + ", the metadata implies " +
                                      shape_to_string(target.shape) + " (" + target.name + ")");
  }
  return target;
}

void check_all_tensors_present(const GgufFile& file, const DecoderSpec& spec) {
  // Checked one by one, never listed: block_count comes from the file, and every name found is
  // a distinct tensor, so a missing one turns up within tensors().size() + 1 lookups.
  const auto require = [&](const std::string& name) {
    if (file.find_tensor(name) == nullptr) file.fail_tensor(name, "is missing (a " + spec.architecture + " model needs it)");
  };
  require("token_embd.weight");
  require("output_norm.weight");
  for (int64_t layer = 0; layer < spec.num_hidden_layers; ++layer) {
    const std::string prefix = "blk." + std::to_string(layer) + ".";
    for (const LayerTensor& entry : kLayerTensors) require(prefix + entry.gguf_leaf + ".weight");
    if (!spec.attention_bias) continue;
    for (const char* leaf : {"attn_q", "attn_k", "attn_v"}) require(prefix + leaf + ".bias");
  }
}

Tensor unpermute_qk_rows(const Tensor& weight, int64_t n_head) {
  const int64_t rows = weight.size(0);
  if (weight.dim() != 2 || n_head <= 0 || rows % (2 * n_head) != 0) {
    throw std::invalid_argument("unpermute_qk_rows: " + shape_to_string(weight.shape()) + " rows are not a multiple of 2 x " +
                                std::to_string(n_head) + " heads");
  }
  const Tensor source = weight.contiguous();
  Tensor result = Tensor::zeros(source.dtype(), source.shape());
  const int64_t half = rows / n_head / 2;
  const size_t row_bytes = static_cast<size_t>(weight.size(1)) * source.element_size();
  const std::byte* from = source.raw_data();
  std::byte* to = result.raw_data();
  // Stored row h*2*half + k*2 + j becomes row h*2*half + j*half + k.
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t k = 0; k < half; ++k) {
        const int64_t stored = h * 2 * half + k * 2 + j;
        const int64_t restored = h * 2 * half + j * half + k;
        std::memcpy(to + restored * row_bytes, from + stored * row_bytes, row_bytes);
      }
    }
  }
  return result;
}

}  // namespace pq::gguf
