// The forward of a Llama-family decoder (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM) over a block of tokens as registry ops, with the KV cache on the device and
// optimum-quanto's semantics for the quantized Linear layers. What changes from call to call
// (token ids, positions, cache length) lives in small int32 device tensors, so the same ops
// recorded once replay for every decode step.
#pragma once

#include <vector>

#include "host/nn/pretrained.h"
#include "runtime/model/quantized_modules.h"

namespace pq::rt::model {

// Per-layer key/value caches [max_context, kv_heads, head_dim] in the model's dtype.
struct KvCache {
  std::vector<Value> keys, values;
  int64_t max_context = 0;
  Value counter;  // int32 [1], zero: fused_linear's (made here, before any plan is recorded)
};

// The int32 inputs of one block of n tokens at positions start .. start + n - 1.
struct DecoderInputs {
  Value tokens;      // [n]
  Value positions;   // [n]: start .. start + n - 1 (rope)
  Value start;       // [1]: where the block's keys and values go in the cache
  Value kv_len;      // [1]: start + n, the keys the block attends to
  Value logit_rows;  // [m]: rows of the block whose logits are wanted (e.g. {n - 1})
};

struct DecoderOptions {
  // Weight-only q/k/v projections as one linear_rope_kv_write, gate/up as one linear_swiglu,
  // and o_proj/down_proj with the add_rmsnorm after them as one fused_linear (each one launch
  // on CPU devices' decode steps): bit-identical to the modules one by one, in fewer launches.
  bool stack_projections = true;
};

// Allocates the caches (zeros) on the executor's device.
KvCache make_kv_cache(Executor& ex, const nn::Model& model, int64_t max_context);

// Logits [m, vocab] in the model's dtype for the rows `logit_rows`; the caches get the block's
// keys and values. With `calibration`, the quantized modules' scales are updated as quanto's
// Calibration does it (reads activations back).
Value decoder_forward(Executor& ex, nn::Model& model, KvCache& cache, const DecoderInputs& in,
                      CalibrationState* calibration = nullptr, const DecoderOptions& options = {});

}  // namespace pq::rt::model
