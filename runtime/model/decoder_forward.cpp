#include "runtime/model/decoder_forward.h"

#include "host/float_format.h"
#include "host/models/decoder_model.h"

namespace pq::rt::model {
namespace {

using models::DecoderConfig;

struct Block {
  Executor& ex;
  const DecoderConfig& config;
  DType dtype;
  CalibrationState* cal;
  int64_t n;  // tokens in the block
  DecoderOptions options;
  Value counter;  // fused_linear's (int32 [1], zero), shared by every launch of the block
};

Value rms_norm(Block& b, const nn::RMSNorm& norm, const std::string& name, const Value& x) {
  return b.ex.run1("rmsnorm", {x, float_constant(b.ex, name + ".weight", norm.weight, b.dtype)}, {{"eps", norm.eps}});
}

// The residual stream after a block, h + delta, and the next RMSNorm of it, in one launch.
struct Residual {
  Value h, normed;
};
Residual add_rms_norm(Block& b, const Value& h, const Value& delta, const nn::RMSNorm& norm, const std::string& name) {
  const std::vector<Value> out = b.ex.run(
      "add_rmsnorm", {h, delta, float_constant(b.ex, name + ".weight", norm.weight, b.dtype)}, {{"eps", norm.eps}});
  return {out.at(0), out.at(1)};
}

Value linear(Block& b, nn::Linear& l, const std::string& name, const Value& x) {
  return linear_module(b.ex, l, name, {x}, b.cal, b.dtype).value;
}

// o_proj or down_proj, then the residual add and the RMSNorm after it: one op where the module
// is weight-only and the device's GEMV can end with the norm (fused_linear), else two.
Residual linear_add_rms_norm(Block& b, nn::Linear& l, const std::string& name, const Value& x, const Value& h,
                             const nn::RMSNorm& norm, const std::string& norm_name) {
  if (b.options.stack_projections) {
    const AddRmsNorm next{h, float_constant(b.ex, norm_name + ".weight", norm.weight, b.dtype), b.counter, norm.eps};
    if (const auto out = linear_module_add_rmsnorm(b.ex, l, name, x, next, b.cal, b.dtype)) return {out->at(0), out->at(1)};
  }
  return add_rms_norm(b, h, linear(b, l, name, x), norm, norm_name);
}

// quanto's rotate_half negates a quantized int8 q/k on its codes, where -(-128) wraps to -128:
// the element -128·scale keeps its sign (rope's neg_wrap). Other activations negate exactly.
double neg_wrap(const Activation& a) {
  if (a.qtype != QType::QInt8) return 0.0;
  return round_to_dtype(a.value.dtype, -128.0f * a.scale);
}

Value inv_freq(Block& b) {
  if (b.ex.has_constant("rope.inv_freq")) return b.ex.constant("rope.inv_freq", {});
  return b.ex.constant("rope.inv_freq", Tensor::from_values(DType::F32, {b.config.head_dim / 2},
                                                            models::rope_inv_freq(b.config.rope, b.config.head_dim)));
}

Value rope(Block& b, const Activation& x, int64_t heads, const DecoderInputs& in) {
  return b.ex.run1("rope", {b.ex.reshape(x.value, {b.n, heads, b.config.head_dim}), in.positions, inv_freq(b)},
                   {{"neg_wrap", neg_wrap(x)}});
}

// q (rotated) after the block's keys and values went into the cache. Weight-only projections
// run as one linear_rope_kv_write (one launch where the GEMV ends with the rope, else two);
// stacked float projections with a bias as one linear followed by one rope_kv_write (two
// launches instead of seven); otherwise each module with its own hooks (quantized
// activations, calibration).
Value project_qkv(Block& b, const models::DecoderLayerModules& l, const std::string& prefix, const Value& x, size_t layer,
                  KvCache& cache, const DecoderInputs& in) {
  const DecoderConfig& c = b.config;
  if (b.options.stack_projections) {
    const RopeKvWrite rope{cache.keys[layer], cache.values[layer], in.positions, inv_freq(b), in.start, b.counter, c.num_heads};
    if (const auto out = linear_rope_kv_write_modules(b.ex, {l.q_proj, l.k_proj, l.v_proj}, prefix + "qkv_proj", x, rope, b.cal,
                                                      b.dtype)) {
      cache.keys[layer] = out->at(1);
      cache.values[layer] = out->at(2);
      return out->at(0);
    }
    if (const auto qkv = stacked_linear_modules(b.ex, {l.q_proj, l.k_proj, l.v_proj}, prefix + "qkv_proj", x, b.cal, b.dtype)) {
      const std::vector<Value> out = b.ex.run(
          "rope_kv_write",
          {b.ex.reshape(*qkv, {b.n, c.num_heads + 2 * c.num_kv_heads, c.head_dim}), in.positions, inv_freq(b),
           cache.keys[layer], cache.values[layer], in.start},
          {{"q_heads", static_cast<double>(c.num_heads)}});
      cache.keys[layer] = out[1];
      cache.values[layer] = out[2];
      return out[0];
    }
  }
  const Value q = rope(b, linear_module(b.ex, *l.q_proj, prefix + "q_proj", {x}, b.cal, b.dtype), c.num_heads, in);
  const Value k = rope(b, linear_module(b.ex, *l.k_proj, prefix + "k_proj", {x}, b.cal, b.dtype), c.num_kv_heads, in);
  const Value v = b.ex.reshape(linear(b, *l.v_proj, prefix + "v_proj", x), {b.n, c.num_kv_heads, c.head_dim});
  cache.keys[layer] = b.ex.run1("kv_write", {cache.keys[layer], k, in.start});
  cache.values[layer] = b.ex.run1("kv_write", {cache.values[layer], v, in.start});
  return q;
}

// LlamaAttention: q/k/v projections, rotary embeddings, the block's keys and values into the
// cache, attention over everything cached so far, o_proj; then the residual add and the
// post-attention RMSNorm.
Residual attention(Block& b, const models::DecoderLayerModules& l, const std::string& layer_prefix, const Value& h,
                   const Value& x, size_t layer, KvCache& cache, const DecoderInputs& in) {
  const DecoderConfig& c = b.config;
  const std::string prefix = layer_prefix + "self_attn.";
  const Value q = project_qkv(b, l, prefix, x, layer, cache, in);
  const Shape cached{1, cache.max_context, c.num_kv_heads, c.head_dim};
  const Value a = b.ex.run1("attention",
                            {b.ex.reshape(q, {1, b.n, c.num_heads, c.head_dim}), b.ex.reshape(cache.keys[layer], cached),
                             b.ex.reshape(cache.values[layer], cached), in.kv_len},
                            {{"causal", 1}});
  const Residual mid = linear_add_rms_norm(b, *l.o_proj, prefix + "o_proj", b.ex.reshape(a, {b.n, c.num_heads * c.head_dim}), h,
                                           *l.post_attention_norm, layer_prefix + "post_attention_layernorm");
  end_of_parent(*l.attention, b.cal);
  return mid;
}

// silu(gate_proj(x)) * up_proj(x): weight-only gate and up as one linear_swiglu (their rows
// interleaved; one launch where the GEMV ends with the swiglu); else each module with its hooks,
// then silu_mul.
Value gated(Block& b, const models::DecoderLayerModules& l, const std::string& prefix, const Value& x) {
  if (b.options.stack_projections) {
    if (const auto g = linear_swiglu_modules(b.ex, *l.gate_proj, *l.up_proj, prefix + "gate_up_pairs", x, b.cal, b.dtype)) return *g;
  }
  return b.ex.run1("silu_mul", {linear(b, *l.gate_proj, prefix + "gate_proj", x), linear(b, *l.up_proj, prefix + "up_proj", x)});
}

// LlamaMLP: down_proj(silu(gate_proj(x)) * up_proj(x)), the silu and the product in one launch;
// then the residual add and the next layer's input RMSNorm (`next`; the last layer's add only).
Residual mlp(Block& b, const models::DecoderLayerModules& l, const std::string& prefix, const Residual& mid,
             const nn::RMSNorm* next, const std::string& next_name) {
  const Value g = gated(b, l, prefix, mid.normed);
  Residual out{mid.h, mid.h};
  if (next) {
    out = linear_add_rms_norm(b, *l.down_proj, prefix + "down_proj", g, mid.h, *next, next_name);
  } else {
    out.h = b.ex.run1("add", {mid.h, linear(b, *l.down_proj, prefix + "down_proj", g)});
  }
  end_of_parent(*l.mlp, b.cal);
  return out;
}

}  // namespace

KvCache make_kv_cache(Executor& ex, const nn::Model& model, int64_t max_context) {
  const DecoderConfig& c = *model.decoder;
  KvCache cache;
  cache.max_context = max_context;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    for (auto* side : {&cache.keys, &cache.values}) {
      side->push_back(ex.input(Tensor::zeros(model.dtype, {max_context, c.num_kv_heads, c.head_dim})));
    }
  }
  cache.counter = ex.input(Tensor::zeros(DType::I32, {1}));
  return cache;
}

Value decoder_forward(Executor& ex, nn::Model& model, KvCache& cache, const DecoderInputs& in, CalibrationState* cal,
                      const DecoderOptions& options) {
  const models::DecoderModules d = models::decoder_modules(*model.root);
  Block b{ex, *model.decoder, model.dtype, cal, in.tokens.shape.at(0), options, cache.counter};
  const Value table = float_constant(ex, "model.embed_tokens.weight", d.embed_tokens->weight, b.dtype);
  const auto prefix = [](size_t layer) { return "model.layers." + std::to_string(layer) + "."; };
  Value h = ex.run1("embedding", {table, in.tokens});
  // Each residual add goes with the RMSNorm that follows it (the next layer's input norm), and
  // both with the projection before them where they fuse.
  Value x = d.layers.empty() ? h : rms_norm(b, *d.layers[0].input_norm, prefix(0) + "input_layernorm", h);
  for (size_t i = 0; i < d.layers.size(); ++i) {
    const models::DecoderLayerModules& l = d.layers[i];
    const Residual mid = attention(b, l, prefix(i), h, x, i, cache, in);
    const bool last = i + 1 == d.layers.size();
    const Residual next = mlp(b, l, prefix(i) + "mlp.", mid, last ? nullptr : d.layers[i + 1].input_norm,
                              last ? "" : prefix(i + 1) + "input_layernorm");
    h = next.h;
    x = next.normed;
  }
  // Only the rows whose logits are wanted go through the final norm and lm_head.
  const Value rows = ex.run1("embedding", {h, in.logit_rows});
  const Value normed = rms_norm(b, *d.norm, "model.norm", rows);
  // A tied lm_head reads the embedding table already on the device (one copy, not two).
  const bool tied = b.config.tie_word_embeddings && !d.lm_head->quant_state.quantized();
  const Value logits = tied ? ex.run1("matmul_f32", {normed, table}, {{"transpose_b", 1}}) : linear(b, *d.lm_head, "lm_head", normed);
  end_of_parent(*d.root, cal);
  return logits;
}

}  // namespace pq::rt::model
