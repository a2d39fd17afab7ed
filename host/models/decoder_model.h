// The module tree of a Llama-family decoder with Hugging Face's module names, so that state
// dicts (float, or quantized by optimum-quanto) map onto it 1:1:
//   model.embed_tokens, model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
//   post_attention_layernorm, mlp.{gate,up,down}_proj}, model.norm, lm_head.
#pragma once

#include <memory>

#include "host/models/decoder_config.h"
#include "host/nn/layers.h"

namespace pq::models {

std::unique_ptr<nn::Module> build_decoder(const DecoderConfig& config);

// Typed access to the parts of a decoder tree built by build_decoder (throws std::logic_error
// on a tree of another shape).
struct DecoderLayerModules {
  nn::RMSNorm* input_norm;
  nn::Linear *q_proj, *k_proj, *v_proj, *o_proj;
  nn::Module* attention;  // LlamaAttention: the parent of q/k/v/o (calibration's streamline)
  nn::RMSNorm* post_attention_norm;
  nn::Linear *gate_proj, *up_proj, *down_proj;
  nn::Module* mlp;        // LlamaMLP
};

struct DecoderModules {
  nn::Embedding* embed_tokens;
  std::vector<DecoderLayerModules> layers;
  nn::RMSNorm* norm;
  nn::Linear* lm_head;
  nn::Module* root;       // LlamaForCausalLM: the parent of lm_head
};

DecoderModules decoder_modules(nn::Module& root);

}  // namespace pq::models
