#include "runtime/ops/op_helpers.h"

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

bool is_float_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

uint32_t float_dtype_code(DType d) { return d == DType::F32 ? 0 : d == DType::F16 ? 1 : 2; }

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
