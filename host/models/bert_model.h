// The module tree of a BERT encoder with Hugging Face's names (BertModel):
//   embeddings.{word_embeddings, position_embeddings, token_type_embeddings, LayerNorm},
//   encoder.layer.N.{attention.self.{query,key,value}, attention.output.{dense, LayerNorm},
//   intermediate.dense, output.{dense, LayerNorm}}, pooler.dense (when the checkpoint has it).
#pragma once

#include <memory>
#include <vector>

#include "host/models/bert_config.h"
#include "host/nn/layers.h"

namespace pq::models {

std::unique_ptr<nn::Module> build_bert(const BertConfig& config, bool with_pooler);

struct BertLayerModules {
  nn::Linear *query, *key, *value;
  nn::Linear* attention_dense;
  nn::LayerNorm* attention_norm;
  nn::Linear* intermediate;
  nn::Linear* output_dense;
  nn::LayerNorm* output_norm;
  // The parents whose forward ends close quanto's streamline decisions for their children.
  nn::Module *self_attention, *attention_output, *intermediate_parent, *output_parent;
};

struct BertModules {
  nn::Embedding *word, *position, *token_type;
  nn::LayerNorm* embeddings_norm;
  nn::Module* embeddings;  // BertEmbeddings
  std::vector<BertLayerModules> layers;
  nn::Linear* pooler;      // nullptr without a pooler
  nn::Module* pooler_parent;
};

BertModules bert_modules(nn::Module& root);

}  // namespace pq::models
