#include "host/models/bert_model.h"

#include <stdexcept>

namespace pq::models {
namespace {

std::unique_ptr<nn::Linear> linear(int64_t in, int64_t out) {
  auto m = std::make_unique<nn::Linear>();
  m->in_features = in;
  m->out_features = out;
  m->bias = Tensor();
  return m;
}

std::unique_ptr<nn::LayerNorm> layer_norm(int64_t dim, double eps) {
  auto m = std::make_unique<nn::LayerNorm>();
  m->normalized_shape = {dim};
  m->eps = eps;
  m->bias = Tensor();
  return m;
}

std::unique_ptr<nn::Embedding> embedding(int64_t rows, int64_t dim) {
  auto m = std::make_unique<nn::Embedding>();
  m->num_embeddings = rows;
  m->embedding_dim = dim;
  return m;
}

// A parent holding `dense` and, when given, `LayerNorm` (BertSelfOutput, BertIntermediate, ...).
std::unique_ptr<nn::Module> dense_block(const std::string& type, int64_t in, int64_t out, const BertConfig* norm) {
  auto block = std::make_unique<nn::Container>(type);
  block->add_child("dense", linear(in, out));
  if (norm) block->add_child("LayerNorm", layer_norm(out, norm->layer_norm_eps));
  return block;
}

std::unique_ptr<nn::Module> bert_layer(const BertConfig& c) {
  auto self = std::make_unique<nn::Container>("BertSelfAttention");
  self->add_child("query", linear(c.hidden_size, c.hidden_size));
  self->add_child("key", linear(c.hidden_size, c.hidden_size));
  self->add_child("value", linear(c.hidden_size, c.hidden_size));
  auto attention = std::make_unique<nn::Container>("BertAttention");
  attention->add_child("self", std::move(self));
  attention->add_child("output", dense_block("BertSelfOutput", c.hidden_size, c.hidden_size, &c));
  auto layer = std::make_unique<nn::Container>("BertLayer");
  layer->add_child("attention", std::move(attention));
  layer->add_child("intermediate", dense_block("BertIntermediate", c.hidden_size, c.intermediate_size, nullptr));
  layer->add_child("output", dense_block("BertOutput", c.intermediate_size, c.hidden_size, &c));
  return layer;
}

nn::Module& child(nn::Module& parent, const std::string& name) {
  for (auto& [n, m] : parent.children()) {
    if (n == name) return *m;
  }
  throw std::logic_error("BERT tree has no module '" + name + "' under a " + std::string(parent.type()));
}

nn::Module* find_child(nn::Module& parent, const std::string& name) {
  for (auto& [n, m] : parent.children()) {
    if (n == name) return m.get();
  }
  return nullptr;
}

template <class T>
T* typed(nn::Module& parent, const std::string& name) {
  auto* m = dynamic_cast<T*>(&child(parent, name));
  if (!m) throw std::logic_error("BERT tree: '" + name + "' has type " + std::string(child(parent, name).type()));
  return m;
}

}  // namespace

std::unique_ptr<nn::Module> build_bert(const BertConfig& c, bool with_pooler) {
  auto embeddings = std::make_unique<nn::Container>("BertEmbeddings");
  embeddings->add_child("word_embeddings", embedding(c.vocab_size, c.hidden_size));
  embeddings->add_child("position_embeddings", embedding(c.max_position_embeddings, c.hidden_size));
  embeddings->add_child("token_type_embeddings", embedding(c.type_vocab_size, c.hidden_size));
  embeddings->add_child("LayerNorm", layer_norm(c.hidden_size, c.layer_norm_eps));
  auto layers = std::make_unique<nn::Container>("ModuleList");
  for (int64_t i = 0; i < c.num_layers; ++i) layers->add_child(std::to_string(i), bert_layer(c));
  auto encoder = std::make_unique<nn::Container>("BertEncoder");
  encoder->add_child("layer", std::move(layers));
  auto root = std::make_unique<nn::Container>("BertModel");
  root->add_child("embeddings", std::move(embeddings));
  root->add_child("encoder", std::move(encoder));
  if (with_pooler) root->add_child("pooler", dense_block("BertPooler", c.hidden_size, c.hidden_size, nullptr));
  return root;
}

BertModules bert_modules(nn::Module& top) {
  // BertForMaskedLM holds the encoder as its child "bert".
  nn::Module& root = find_child(top, "bert") ? child(top, "bert") : top;
  nn::Module& emb = child(root, "embeddings");
  BertModules b{typed<nn::Embedding>(emb, "word_embeddings"), typed<nn::Embedding>(emb, "position_embeddings"),
                typed<nn::Embedding>(emb, "token_type_embeddings"), typed<nn::LayerNorm>(emb, "LayerNorm"), &emb, {},
                nullptr, find_child(root, "pooler")};
  if (b.pooler_parent) b.pooler = typed<nn::Linear>(*b.pooler_parent, "dense");
  for (auto& [index, layer] : child(child(root, "encoder"), "layer").children()) {
    nn::Module& attention = child(*layer, "attention");
    nn::Module& self = child(attention, "self");
    nn::Module& attention_out = child(attention, "output");
    nn::Module& intermediate = child(*layer, "intermediate");
    nn::Module& out = child(*layer, "output");
    b.layers.push_back({typed<nn::Linear>(self, "query"), typed<nn::Linear>(self, "key"), typed<nn::Linear>(self, "value"),
                        typed<nn::Linear>(attention_out, "dense"), typed<nn::LayerNorm>(attention_out, "LayerNorm"),
                        typed<nn::Linear>(intermediate, "dense"), typed<nn::Linear>(out, "dense"),
                        typed<nn::LayerNorm>(out, "LayerNorm"), &self, &attention_out, &intermediate, &out});
  }
  return b;
}

}  // namespace pq::models
