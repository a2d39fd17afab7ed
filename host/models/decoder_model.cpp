#include "host/models/decoder_model.h"

#include <stdexcept>

namespace pq::models {
namespace {

std::unique_ptr<nn::Linear> linear(int64_t in, int64_t out, bool bias) {
  auto m = std::make_unique<nn::Linear>();
  m->in_features = in;
  m->out_features = out;
  if (bias) m->bias = Tensor();
  return m;
}

std::unique_ptr<nn::RMSNorm> rms_norm(int64_t dim, double eps) {
  auto m = std::make_unique<nn::RMSNorm>();
  m->dim = dim;
  m->eps = eps;
  return m;
}

// transformers' class names per architecture ("Llama", "Mistral", "Qwen2").
std::string class_prefix(const DecoderConfig& c) { return c.architecture.substr(0, c.architecture.find("ForCausalLM")); }

std::unique_ptr<nn::Module> decoder_layer(const DecoderConfig& c) {
  const std::string prefix = class_prefix(c);
  const int64_t q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
  auto attention = std::make_unique<nn::Container>(prefix + "Attention");
  attention->add_child("q_proj", linear(c.hidden_size, q_out, c.qkv_bias));
  attention->add_child("k_proj", linear(c.hidden_size, kv_out, c.qkv_bias));
  attention->add_child("v_proj", linear(c.hidden_size, kv_out, c.qkv_bias));
  attention->add_child("o_proj", linear(q_out, c.hidden_size, c.o_bias));
  auto mlp = std::make_unique<nn::Container>(prefix + "MLP");
  mlp->add_child("gate_proj", linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  mlp->add_child("up_proj", linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  mlp->add_child("down_proj", linear(c.intermediate_size, c.hidden_size, c.mlp_bias));
  // Registration order is transformers': named_modules() lists modules in this order.
  auto layer = std::make_unique<nn::Container>(prefix + "DecoderLayer");
  layer->add_child("self_attn", std::move(attention));
  layer->add_child("mlp", std::move(mlp));
  layer->add_child("input_layernorm", rms_norm(c.hidden_size, c.rms_norm_eps));
  layer->add_child("post_attention_layernorm", rms_norm(c.hidden_size, c.rms_norm_eps));
  return layer;
}

nn::Module& child(nn::Module& parent, const std::string& name) {
  for (auto& [n, m] : parent.children()) {
    if (n == name) return *m;
  }
  throw std::logic_error("decoder tree has no module '" + name + "' under a " + std::string(parent.type()));
}

template <class T>
T* typed(nn::Module& parent, const std::string& name) {
  auto* m = dynamic_cast<T*>(&child(parent, name));
  if (!m) throw std::logic_error("decoder tree: '" + name + "' has type " + std::string(child(parent, name).type()));
  return m;
}

}  // namespace

std::unique_ptr<nn::Module> build_decoder(const DecoderConfig& c) {
  const std::string prefix = class_prefix(c);
  auto embed = std::make_unique<nn::Embedding>();
  embed->num_embeddings = c.vocab_size;
  embed->embedding_dim = c.hidden_size;
  auto layers = std::make_unique<nn::Container>("ModuleList");
  for (int64_t i = 0; i < c.num_layers; ++i) layers->add_child(std::to_string(i), decoder_layer(c));
  auto model = std::make_unique<nn::Container>(prefix + "Model");
  model->add_child("embed_tokens", std::move(embed));
  model->add_child("layers", std::move(layers));
  model->add_child("norm", rms_norm(c.hidden_size, c.rms_norm_eps));
  auto root = std::make_unique<nn::Container>(c.architecture);
  root->add_child("model", std::move(model));
  root->add_child("lm_head", linear(c.hidden_size, c.vocab_size, false));
  return root;
}

DecoderModules decoder_modules(nn::Module& root) {
  nn::Module& model = child(root, "model");
  DecoderModules d{typed<nn::Embedding>(model, "embed_tokens"), {}, typed<nn::RMSNorm>(model, "norm"),
                   typed<nn::Linear>(root, "lm_head"), &root};
  for (auto& [index, layer] : child(model, "layers").children()) {
    nn::Module& attn = child(*layer, "self_attn");
    nn::Module& mlp = child(*layer, "mlp");
    d.layers.push_back({typed<nn::RMSNorm>(*layer, "input_layernorm"), typed<nn::Linear>(attn, "q_proj"),
                        typed<nn::Linear>(attn, "k_proj"), typed<nn::Linear>(attn, "v_proj"),
                        typed<nn::Linear>(attn, "o_proj"), &attn, typed<nn::RMSNorm>(*layer, "post_attention_layernorm"),
                        typed<nn::Linear>(mlp, "gate_proj"), typed<nn::Linear>(mlp, "up_proj"),
                        typed<nn::Linear>(mlp, "down_proj"), &mlp});
  }
  return d;
}

}  // namespace pq::models
