#include "runtime/ops/op_helpers.h"

#include <algorithm>
#include <limits>

namespace pq::rt {

KernelLaunch grid_1d(std::string kernel, uint64_t n, uint32_t local) {
  constexpr uint64_t kMaxGroups = 65535;
  KernelLaunch launch;
  launch.kernel = std::move(kernel);
  launch.local = {local, 1, 1};
  const uint64_t groups = std::max<uint64_t>(1, (n + local - 1) / local);
  launch.groups = {static_cast<uint32_t>(std::min(groups, kMaxGroups)), ceil_div(groups, kMaxGroups), 1};
  return launch;
}

bool texel_bindable(const DeviceInfo& device, const DeviceBuffer& buffer) {
  return device.api == Api::Vulkan && device.tiers.texel && buffer.size() <= device.max_texel_binding_bytes;
}

bool is_float_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

uint32_t float_dtype_code(DType d) { return d == DType::F32 ? 0 : d == DType::F16 ? 1 : 2; }

void expect_float_dtype(const std::string& op, const std::string& what, const TensorSpec& spec) {
  if (!is_float_dtype(spec.dtype)) op_error(op, what + " must be float32, float16 or bfloat16, got " + describe({spec}));
}

DType float_dtype_param(const std::string& op, const OpParams& params, const std::string& name, DType fallback) {
  if (!params.has(name)) return fallback;
  const double v = params.get(name);
  for (DType d : float_dtypes()) {
    if (v == static_cast<double>(float_dtype_code(d))) return d;
  }
  op_error(op, "parameter " + name + " must be 0 (float32), 1 (float16) or 2 (bfloat16), got " + params.to_string());
}

const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> dtypes = {DType::F32, DType::F16, DType::BF16};
  return dtypes;
}

Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(lo, hi);
  std::vector<float> values(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : values) v = uniform(rng);
  return Tensor::from_floats(dtype, std::move(shape), values);
}

Tensor with_special_values(const Tensor& t, int64_t stride, int64_t offset) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), kInf, -kInf, -0.0f};
  std::vector<float> v = t.to_float_vector();
  size_t k = 0;
  for (int64_t i = offset; i < static_cast<int64_t>(v.size()); i += stride) v[static_cast<size_t>(i)] = specials[k++ % 4];
  return Tensor::from_floats(t.dtype(), t.shape(), v);
}

Tensor with_special_rows(const Tensor& t) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<float> v = t.to_float_vector();
  const auto dim = static_cast<size_t>(t.shape().back());
  for (size_t row = 0; row * dim < v.size(); ++row) {
    float* x = v.data() + row * dim;
    switch (row % 7) {
      case 0: x[dim / 3] = std::numeric_limits<float>::quiet_NaN(); break;
      case 1: x[dim / 3] = kInf; break;
      case 2: x[dim / 3] = -kInf; break;
      case 3: for (size_t i = 0; i < dim; i += 3) x[i] = -0.0f; break;
      case 4: break;
      case 5: std::fill(x, x + dim, -kInf); break;
      default: std::fill(x, x + dim, -0.0f); break;
    }
  }
  return Tensor::from_floats(t.dtype(), t.shape(), v);
}

std::string dtype_tag(DType dtype) {
  return dtype == DType::F16 ? "f16 " : dtype == DType::BF16 ? "bf16 " : "";
}

const std::vector<int64_t>& odd_sizes() {
  static const std::vector<int64_t> sizes = {1, 7, 31, 257, 1031, 65537};
  return sizes;
}

void expect_inputs(const std::string& op, const std::vector<TensorSpec>& in, const std::vector<DType>& dtypes) {
  if (in.size() != dtypes.size()) {
    op_error(op, "expects " + std::to_string(dtypes.size()) + " inputs, got " + std::to_string(in.size()));
  }
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].dtype != dtypes[i]) {
      op_error(op, "input " + std::to_string(i) + " must be " + std::string(dtype_name(dtypes[i])) + ", got " + describe({in[i]}));
    }
  }
}

}  // namespace pq::rt
