// The nn op family, split by idea: one file each, all registered by add_nn_ops (nn.cpp).
//   nn_conv.cpp       conv2d (float or qint8 weights), max_pool2d, avg_pool2d   cl/conv.cl, shaders/conv.comp
//   nn_norm.cpp       layernorm, rmsnorm, softmax (row-wise reductions)         cl/norm.cl, shaders/norm.comp
//   nn_embedding.cpp  embedding (row gather)                                    cl/embedding.cl, shaders/embedding.comp
//   nn_attention.cpp  rope, sdpa                                                cl/attention.cl, shaders/attention.comp
// Plus the small helpers these files share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/op_registry.h"

namespace pq::rt {

void add_conv_ops(std::vector<OpDef>& ops);
void add_norm_ops(std::vector<OpDef>& ops);
void add_embedding_ops(std::vector<OpDef>& ops);
void add_attention_ops(std::vector<OpDef>& ops);

namespace nn {

// One workgroup per row, `rows` of them, wrapped into a second grid dimension past 65535
// groups (kernels index rows with flat_group_id()).
KernelLaunch grid_rows(std::string kernel, uint64_t rows, uint32_t local);

// Kernels index with 32-bit unsigned integers: every tensor must have fewer than 2^31 elements.
void check_index_range(const std::string& op, const std::vector<TensorSpec>& specs);

// An integer parameter that must lie in [lo, hi]; errors name the op and the parameter.
int64_t int_param(const std::string& op, const OpParams& params, const std::string& name, int64_t fallback, int64_t lo,
                  int64_t hi);

// Throws unless `spec` has the given rank.
void expect_rank(const std::string& op, const std::string& what, const TensorSpec& spec, size_t rank);

// Throws unless `spec` is float32 of exactly `shape`.
void expect_f32_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape);

// Throws unless `spec` is float32, float16 or bfloat16 of exactly `shape`.
void expect_float_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape);

// Throws unless every spec has the dtype of the first (float activations of one op share one).
void expect_same_dtype(const std::string& op, const std::vector<TensorSpec>& specs, const std::string& what);

// Optional inputs have no buffer; kernels still need a valid binding, so an unused optional
// input is bound to the first input's buffer (never read: a parameter says it is absent).
DeviceBuffer* buffer_or_placeholder(const std::vector<DeviceTensor>& in, size_t index);

// Host tensors as contiguous float / int32 vectors.
std::vector<int32_t> int32_values(const Tensor& t);

inline uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

}  // namespace nn
}  // namespace pq::rt
