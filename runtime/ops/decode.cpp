// The decode op family's registration and the checks its ops share (see decode_ops.h).
#include <cstring>

#include "runtime/ops/decode_ops.h"
#include "runtime/ops/op_families.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {

void add_decode_ops(std::vector<OpDef>& ops) {
  ops.push_back(kv_write_op());
  ops.push_back(rope_kv_write_op());
  ops.push_back(attention_op());
  ops.push_back(argmax_op());
  ops.push_back(topk_op());
}

namespace decode {

Tensor int32_tensor(const std::vector<int32_t>& values) {
  return Tensor::from_values(DType::I32, {static_cast<int64_t>(values.size())}, values);
}

void expect_same_float(const std::string& op, const std::vector<TensorSpec>& specs, const std::string& what) {
  for (const TensorSpec& s : specs) {
    if (!is_float_dtype(s.dtype) || s.dtype != specs.front().dtype) {
      op_error(op, what + " must all be float32, float16 or bfloat16, of one dtype: " + describe(specs));
    }
  }
}

void expect_i32_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape) {
  if (spec.dtype != DType::I32 || spec.shape != shape) {
    op_error(op, what + " must be int32" + shape_to_string(shape) + ", got " + describe({spec}));
  }
}

Tensor with_values_at(const Tensor& base, const std::vector<int64_t>& at, const std::vector<float>& values) {
  Tensor t = base.contiguous().clone();
  for (size_t i = 0; i < at.size(); ++i) {
    store_from_float(t.raw_data() + static_cast<size_t>(at[i]) * t.element_size(), t.dtype(), values.at(i));
  }
  return t;
}

}  // namespace decode
}  // namespace pq::rt
