// The decode op family: what a transformer decoder needs to generate with its KV cache on the
// device, replaying one recorded plan per token. Anything that changes per step (the cache
// write position, the number of valid keys) is read by the kernels from small int32 device
// tensors, never from kernel parameters, so a recorded plan stays valid from step to step.
//   decode_kv_write.cpp   kv_write (in place: new rows into the cache at a device-held start)
//   decode_rope_kv_write.cpp  rope_kv_write (a fused q/k/v projection's rope and cache writes)
//   decode_attention.cpp  attention ([tokens, heads, dim] layouts, per-batch kv_len, causal)
//   decode_select.cpp     argmax, topk (exact, torch's order on NaN)
// Kernels: cl/decode.cl, shaders/decode.comp (one variant per op, the dtype is a parameter);
// rope_kv_write's sit with rope's in cl/attention.cl and shaders/attention.comp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/op_registry.h"

namespace pq::rt {

OpDef kv_write_op();
OpDef rope_kv_write_op();
OpDef attention_op();
OpDef argmax_op();
OpDef topk_op();

namespace decode {

bool is_activation_dtype(DType dtype);  // float32, float16, bfloat16
// Throws unless every spec is one and the same activation dtype; `what` names them.
void expect_same_float(const std::string& op, const std::vector<TensorSpec>& specs, const std::string& what);
// Throws unless `spec` is int32 of exactly `shape`.
void expect_i32_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape);

// An int32 vector tensor (positions, cache starts, lengths of conformance cases).
Tensor int32_tensor(const std::vector<int32_t>& values);

// HF's default inverse frequencies for rotary_dim dims, theta 10000 (rope cases' inv_freq).
Tensor default_inv_freq(int64_t rotary_dim);

// `base` with the flat elements at `at` replaced by `values` (conformance inputs with NaN, ±inf, -0).
Tensor with_values_at(const Tensor& base, const std::vector<int64_t>& at, const std::vector<float>& values);

}  // namespace decode
}  // namespace pq::rt
