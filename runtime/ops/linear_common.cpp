#include "runtime/ops/linear_common.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
std::optional<ElemFormat> elem_format(DType dtype) {
  switch (dtype) {
    case DType::F32: return ElemFormat::F32;
    case DType::F16: return ElemFormat::F16;
    case DType::BF16: return ElemFormat::BF16;
    case DType::I8: return ElemFormat::I8;
    case DType::F8_E4M3FN: return ElemFormat::E4M3FN;
    case DType::F8_E4M3FNUZ: return ElemFormat::E4M3FNUZ;
    case DType::F8_E5M2: return ElemFormat::E5M2;
    default: return std::nullopt;
  }
}

std::vector<float> reference_matmul(const std::vector<float>& x, const std::vector<float>& w, int64_t n, int64_t m,
                                     int64_t k, const std::vector<float>* bias) {
  std::vector<float> y(static_cast<size_t>(n * m));
  for (int64_t i = 0; i < n; ++i) {
    const float* xr = x.data() + i * k;
    for (int64_t j = 0; j < m; ++j) {
      const float* wr = w.data() + j * k;
      double acc = 0.0;
      for (int64_t c = 0; c < k; ++c) acc += static_cast<double>(xr[c]) * wr[c];
      if (bias) acc += (*bias)[static_cast<size_t>(j)];
      y[static_cast<size_t>(i * m + j)] = static_cast<float>(acc);
    }
  }
  return y;
}

int64_t rows_of(const Shape& x_shape) {
  return shape_numel(Shape(x_shape.begin(), x_shape.end() - 1));  // not numel / k: k may be 0
}

Shape with_last_dim(const Shape& x_shape, int64_t m) {
  Shape out = x_shape;
  out.back() = m;
  return out;
}

void expect_rank_at_least(const std::string& op, const TensorSpec& t, const char* what, size_t rank) {
  if (t.shape.size() < rank) {
    op_error(op, std::string(what) + " must have rank >= " + std::to_string(rank) + ", got " + describe({t}));
  }
}

void expect_numel(const std::string& op, const TensorSpec& t, const char* what, int64_t numel) {
  if (shape_numel(t.shape) != numel) {
    op_error(op, std::string(what) + " must have " + std::to_string(numel) + " elements, got " + describe({t}));
  }
}

void expect_float_activation(const std::string& op, const TensorSpec& x) {
  if (x.dtype != DType::F32 && x.dtype != DType::F16 && x.dtype != DType::BF16) {
    op_error(op, "x must be float32, float16 or bfloat16, got " + describe({x}));
  }
  expect_rank_at_least(op, x, "x", 1);
}

void expect_scale_dtype(const std::string& op, const TensorSpec& t, const char* what) {
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16) {
    op_error(op, std::string(what) + " must be float32, float16 or bfloat16, got " + describe({t}));
  }
}

bool check_bias(const std::string& op, const std::vector<TensorSpec>& in, size_t base_inputs, const OpParams& params,
                int64_t m) {
  const bool has_bias = params.get_int("has_bias", 0) != 0;
  const size_t expected = base_inputs + (has_bias ? 1 : 0);
  if (in.size() != expected) {
    op_error(op, "expects " + std::to_string(expected) + " inputs with has_bias=" + std::to_string(has_bias) + ", got " +
                     std::to_string(in.size()) + ": " + describe(in));
  }
  if (has_bias) {
    const TensorSpec& bias = in[base_inputs];
    if (!is_float_dtype(bias.dtype) || shape_numel(bias.shape) != m) {
      op_error(op, "bias must be float32/float16/bfloat16 with " + std::to_string(m) + " elements, got " + describe({bias}));
    }
  }
  return has_bias;
}

DType output_dtype(const std::string& op, DType x, const OpParams& params) {
  return float_dtype_param(op, params, "dtype", is_float_dtype(x) ? x : DType::F32);
}

void expect_u32_indexable(const std::string& op, const std::vector<TensorSpec>& in) {
  for (const auto& t : in) {
    if (shape_numel(t.shape) > std::numeric_limits<uint32_t>::max()) {
      op_error(op, "tensors above 2^32 elements are not supported: " + describe({t}));
    }
  }
}

std::vector<TensorSpec> specs_of(const std::vector<Tensor>& in) {
  std::vector<TensorSpec> specs;
  for (const auto& t : in) specs.push_back({t.dtype(), t.shape()});
  return specs;
}

std::vector<TensorSpec> specs_of(const std::vector<DeviceTensor>& in) {
  std::vector<TensorSpec> specs;
  for (const auto& t : in) specs.push_back({t.dtype, t.shape});
  return specs;
}

std::optional<std::vector<float>> reference_bias(const std::vector<Tensor>& in, size_t index, const OpParams& params) {
  if (params.get_int("has_bias", 0) == 0) return std::nullopt;
  return in.at(index).to_float_vector();
}

const std::vector<CaseShape>& case_shapes() {
  static const std::vector<CaseShape> shapes = {
      {1, 64, 1}, {3, 129, 7}, {8, 320, 31}, {9, 64, 257}, {33, 129, 31},
      {33, 320, 7}, {9, 320, 257}, {1, 4096, 257}, {8, 4096, 31},
  };
  return shapes;
}

std::string shape_label(const CaseShape& s) {
  return "n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " m=" + std::to_string(s.m);
}

}  // namespace pq::rt::linear
