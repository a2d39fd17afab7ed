// The nn op family: registration (the ops live in nn_*.cpp, see nn_ops.h) and shared helpers.
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_families.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {

void add_nn_ops(std::vector<OpDef>& ops) {
  add_conv_ops(ops);
  add_norm_ops(ops);
  add_embedding_ops(ops);
  add_attention_ops(ops);
}

namespace nn {

KernelLaunch grid_rows(std::string kernel, uint64_t rows, uint32_t local) {
  constexpr uint64_t kMaxGroups = 65535;  // Vulkan's guaranteed limit per grid dimension
  KernelLaunch launch;
  launch.kernel = std::move(kernel);
  launch.local = {local, 1, 1};
  const uint64_t groups = std::max<uint64_t>(1, rows);
  launch.groups = {static_cast<uint32_t>(std::min(groups, kMaxGroups)), ceil_div(groups, kMaxGroups), 1};
  return launch;
}

void check_index_range(const std::string& op, const std::vector<TensorSpec>& specs) {
  for (const auto& s : specs) {
    if (shape_numel(s.shape) >= (int64_t{1} << 31)) {
      op_error(op, "tensors must have fewer than 2^31 elements: " + describe({s}));
    }
  }
}

int64_t int_param(const std::string& op, const OpParams& params, const std::string& name, int64_t fallback, int64_t lo,
                  int64_t hi) {
  const std::string range = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!params.has(name) && (fallback < lo || fallback > hi)) {
    op_error(op, "parameter " + name + " (" + range + ") is required");
  }
  const double v = params.get(name, static_cast<double>(fallback));
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) ||
      v != static_cast<double>(static_cast<int64_t>(v))) {
    op_error(op, "parameter " + name + " must be " + range + ", got " + params.to_string());
  }
  return static_cast<int64_t>(v);
}

void expect_rank(const std::string& op, const std::string& what, const TensorSpec& spec, size_t rank) {
  if (spec.shape.size() != rank) {
    op_error(op, what + " must have " + std::to_string(rank) + " dims, got " + describe({spec}));
  }
}

void expect_f32_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape) {
  if (spec.dtype != DType::F32 || spec.shape != shape) {
    op_error(op, what + " must be float32" + shape_to_string(shape) + ", got " + describe({spec}));
  }
}

void expect_float_shape(const std::string& op, const std::string& what, const TensorSpec& spec, const Shape& shape) {
  if (!is_float_dtype(spec.dtype) || spec.shape != shape) {
    op_error(op, what + " must be float32, float16 or bfloat16" + shape_to_string(shape) + ", got " + describe({spec}));
  }
}

void expect_same_dtype(const std::string& op, const std::vector<TensorSpec>& specs, const std::string& what) {
  for (const auto& s : specs) {
    if (s.dtype != specs.front().dtype) op_error(op, what + " must have one dtype: " + describe(specs));
  }
}

DeviceBuffer* buffer_or_placeholder(const std::vector<DeviceTensor>& in, size_t index) {
  return index < in.size() ? in[index].buffer.get() : in.front().buffer.get();
}

std::vector<int32_t> int32_values(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<int32_t> v(static_cast<size_t>(c.numel()));
  std::memcpy(v.data(), c.raw_data(), v.size() * sizeof(int32_t));
  return v;
}

}  // namespace nn
}  // namespace pq::rt
