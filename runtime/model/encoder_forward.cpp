#include "runtime/model/encoder_forward.h"

#include "host/models/bert_model.h"

namespace pq::rt::model {
namespace {

struct Batch {
  Executor& ex;
  const models::BertConfig& config;
  DType dtype;
  CalibrationState* cal;
  const EncoderInputs& in;
};

Value lookup(Batch& b, const nn::Embedding& e, const std::string& name, const Value& indices) {
  return b.ex.run1("embedding", {float_constant(b.ex, name + ".weight", e.weight, b.dtype), indices});
}

Activation linear(Batch& b, nn::Linear& l, const std::string& name, Activation x) {
  return linear_module(b.ex, l, name, std::move(x), b.cal, b.dtype);
}

Activation layer_norm(Batch& b, nn::LayerNorm& n, const std::string& name, Activation x) {
  return layer_norm_module(b.ex, n, name, std::move(x), b.cal, b.dtype);
}

// BertEmbeddings: (word + token_type) + position, then LayerNorm, in transformers' order.
Activation embeddings(Batch& b, const models::BertModules& m) {
  const Value words = lookup(b, *m.word, "embeddings.word_embeddings", b.in.tokens);
  const Value types = lookup(b, *m.token_type, "embeddings.token_type_embeddings", b.in.token_types);
  const Value positions = lookup(b, *m.position, "embeddings.position_embeddings", b.in.positions);
  const Value sum = b.ex.run1("add", {b.ex.run1("add", {words, types}), positions});
  Activation out = layer_norm(b, *m.embeddings_norm, "embeddings.LayerNorm", {sum});
  end_of_parent(*m.embeddings, b.cal);
  return out;
}

// BertSelfAttention over the unpadded keys of each sequence.
Value self_attention(Batch& b, const models::BertLayerModules& l, const std::string& prefix, const Activation& h) {
  const int64_t heads = b.config.num_heads, d = b.config.head_dim();
  const Shape split{b.in.batch, b.in.seq, heads, d};
  const Value q = b.ex.reshape(linear(b, *l.query, prefix + "query", h).value, split);
  const Value k = b.ex.reshape(linear(b, *l.key, prefix + "key", h).value, split);
  const Value v = b.ex.reshape(linear(b, *l.value, prefix + "value", h).value, split);
  const Value context = b.ex.run1("attention", {q, k, v, b.in.lengths}, {{"causal", 0}});
  end_of_parent(*l.self_attention, b.cal);
  return b.ex.reshape(context, {b.in.batch * b.in.seq, heads * d});
}

// BertSelfOutput / BertOutput: LayerNorm(dense(x) + residual).
Activation dense_residual_norm(Batch& b, nn::Linear& dense, nn::LayerNorm& norm, nn::Module& parent, const std::string& prefix,
                               Activation x, const Activation& residual) {
  const Value y = linear(b, dense, prefix + "dense", std::move(x)).value;
  Activation out = layer_norm(b, norm, prefix + "LayerNorm", {b.ex.run1("add", {y, residual.value})});
  end_of_parent(parent, b.cal);
  return out;
}

Activation bert_layer(Batch& b, const models::BertLayerModules& l, const std::string& prefix, const Activation& h) {
  const Value context = self_attention(b, l, prefix + "attention.self.", h);
  const Activation attended =
      dense_residual_norm(b, *l.attention_dense, *l.attention_norm, *l.attention_output, prefix + "attention.output.", {context}, h);
  const Value hidden = linear(b, *l.intermediate, prefix + "intermediate.dense", attended).value;
  const Value activated = b.ex.run1(b.config.gelu_tanh ? "gelu_tanh" : "gelu_erf", {hidden});
  end_of_parent(*l.intermediate_parent, b.cal);
  return dense_residual_norm(b, *l.output_dense, *l.output_norm, *l.output_parent, prefix + "output.", {activated}, attended);
}

}  // namespace

Value encoder_forward(Executor& ex, nn::Model& model, const EncoderInputs& in, CalibrationState* cal) {
  const models::BertModules m = models::bert_modules(*model.root);
  Batch b{ex, *model.encoder, model.dtype, cal, in};
  Activation h = embeddings(b, m);
  for (size_t i = 0; i < m.layers.size(); ++i) h = bert_layer(b, m.layers[i], "encoder.layer." + std::to_string(i) + ".", h);
  if (m.pooler) {
    // hidden_states[:, 0] keeps a quantized activation quantized (a select), with its scale.
    linear(b, *m.pooler, "pooler.dense", {ex.run1("embedding", {h.value, in.first_rows}), h.qtype, h.scale, h.producer});
    end_of_parent(*m.pooler_parent, cal);
  }
  return ex.reshape(h.value, {in.batch, in.seq, model.encoder->hidden_size});
}

}  // namespace pq::rt::model
