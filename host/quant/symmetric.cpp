#include "host/quant/symmetric.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "host/float_format.h"
#include "host/parallel.h"
#include "host/quant/dtype_arithmetic.h"

namespace pq {
namespace {

// Maps a flat element index to the index of its scale.
struct ScaleLayout {
  std::optional<int> axis;
  int64_t inner = 1;  // elements per index of dim 0 (axis 0) / size of the last dim (axis -1)
  int64_t count = 1;  // number of scales

  int64_t scale_index(int64_t i) const {
    if (!axis) return 0;
    return *axis == 0 ? i / inner : i % inner;
  }
};

ScaleLayout scale_layout(const Shape& shape, std::optional<int> axis) {
  ScaleLayout layout{effective_symmetric_axis(shape, axis)};
  if (!layout.axis) return layout;
  const int64_t n = shape_numel(shape);
  if (*layout.axis == 0) {
    layout.count = shape.front();
    layout.inner = layout.count ? n / layout.count : 1;
  } else {
    layout.count = shape.back();
    layout.inner = layout.count;
  }
  return layout;
}

void check_float_weight(const Tensor& weight) {
  const DType d = weight.dtype();
  if (d != DType::F32 && d != DType::F16 && d != DType::BF16) {
    throw std::invalid_argument("weights must be float32, float16 or bfloat16, not " + std::string(dtype_name(d)));
  }
}

}  // namespace

Shape symmetric_scale_shape(const Shape& weight_shape, std::optional<int> axis) {
  if (!axis) return {};
  Shape s(weight_shape.size(), 1);
  if (*axis == 0) s.front() = weight_shape.front();
  else s.back() = weight_shape.back();
  return s;
}

std::optional<int> effective_symmetric_axis(const Shape& shape, std::optional<int> axis) {
  if (!axis) return std::nullopt;
  const int rank = static_cast<int>(shape.size());
  int a = *axis;
  if (rank > 0 && a == rank - 1) a = -1;
  if (a != 0 && a != -1) throw std::invalid_argument("quantization axis must be 0, -1 or per-tensor, not " + std::to_string(*axis));
  if (rank < 2) throw std::invalid_argument("a tensor of shape " + shape_to_string(shape) + " cannot be quantized per-axis; use per-tensor");
  const int64_t extent = a == 0 ? shape.front() : shape.back();
  if (extent == 1) return std::nullopt;
  return a;
}

Tensor absmax_scale(const Tensor& weight, QType qtype, std::optional<int> axis) {
  check_float_weight(weight);
  const ScaleLayout layout = scale_layout(weight.shape(), axis);
  const std::vector<float> w = weight.to_float_vector();
  std::vector<float> amax(static_cast<size_t>(layout.count), 0.0f);
  if (layout.axis == 0) {
    // One row per scale: rows are independent, so they split over threads.
    parallel_for(layout.count, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float m = 0.0f;
        for (int64_t j = r * layout.inner; j < (r + 1) * layout.inner; ++j) m = std::max(m, std::fabs(w[static_cast<size_t>(j)]));
        amax[static_cast<size_t>(r)] = m;
      }
    });
  } else {
    for (size_t i = 0; i < w.size(); ++i) {
      float& m = amax[static_cast<size_t>(layout.scale_index(static_cast<int64_t>(i)))];
      m = std::max(m, std::fabs(w[i]));
    }
  }
  const DTypeArithmetic arith(weight.dtype());
  const float qmax = qtype_info(qtype).qmax;
  // A zero row gets scale 0, as quanto computes it (no epsilon).
  for (float& m : amax) m = arith.div(m, qmax);
  return Tensor::from_floats(weight.dtype(), symmetric_scale_shape(weight.shape(), layout.axis), amax);
}

Tensor quantize_symmetric(const Tensor& weight, QType qtype, std::optional<int> axis, const Tensor& scale) {
  check_float_weight(weight);
  const QTypeInfo& info = qtype_info(qtype);
  if (info.bits != 8) throw std::invalid_argument(std::string(info.name) + " is not an 8-bit qtype");
  const ScaleLayout layout = scale_layout(weight.shape(), axis);
  if (scale.numel() != layout.count) {
    throw std::invalid_argument("scale of shape " + shape_to_string(scale.shape()) + " does not match weight " +
                                shape_to_string(weight.shape()));
  }
  const std::vector<float> w = weight.to_float_vector();
  const std::vector<float> s = scale.to_float_vector();
  const DTypeArithmetic arith(weight.dtype());
  Tensor out = Tensor::zeros(info.storage, weight.shape());
  auto* dst = reinterpret_cast<uint8_t*>(out.raw_data());
  const bool integer = !info.is_floating_point;
  const FloatFormat format = integer ? FloatFormat::F16 : float_format_of(info.storage);
  parallel_for(static_cast<int64_t>(w.size()), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float x = w[static_cast<size_t>(i)], scale_i = s[static_cast<size_t>(layout.scale_index(i))];
      const float v = arith.div(x, scale_i);
      if (integer) {
        // quanto's 0/0 of a zero row is NaN, which torch casts to int8 0 on the CPU.
        dst[i] = std::isnan(v) ? 0 : static_cast<uint8_t>(static_cast<int8_t>(std::clamp(std::nearbyint(v), -128.0f, 127.0f)));
      } else if (std::isnan(v) && x == 0.0f && scale_i == 0.0f) {
        // A zero row: quanto stores NaN codes (its dequantized row is NaN); code 0 keeps it 0.
        dst[i] = 0;
      } else {
        dst[i] = static_cast<uint8_t>(encode_float(format, std::clamp(v, info.qmin, info.qmax)));
      }
    }
  });
  return out;
}

Tensor dequantize_symmetric(const Tensor& data, const Tensor& scale, std::optional<int> axis) {
  const ScaleLayout layout = scale_layout(data.shape(), axis);
  const std::vector<float> q = data.to_float_vector();
  const std::vector<float> s = scale.to_float_vector();
  const DTypeArithmetic arith(scale.dtype());
  std::vector<float> w(q.size());
  for (size_t i = 0; i < q.size(); ++i) w[i] = arith.mul(s[static_cast<size_t>(layout.scale_index(static_cast<int64_t>(i)))], q[i]);
  return Tensor::from_floats(scale.dtype(), data.shape(), w);
}

}  // namespace pq
