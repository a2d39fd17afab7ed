#include "host/quant/quantized_weight.h"

#include <cmath>
#include <stdexcept>

#include "host/float_format.h"
#include "host/quant/affine.h"
#include "host/quant/group_size.h"
#include "host/quant/packing.h"
#include "host/quant/symmetric.h"

namespace pq {
namespace {

std::string subject(std::string_view name) {
  return name.empty() ? std::string("weight") : "weight '" + std::string(name) + "'";
}

void check_weight(const Tensor& weight, std::string_view name) {
  const DType d = weight.dtype();
  if (d != DType::F32 && d != DType::F16 && d != DType::BF16) {
    throw std::invalid_argument(subject(name) + " has dtype " + std::string(dtype_name(d)) +
                                "; only float32, float16 and bfloat16 weights can be quantized");
  }
  if (weight.dim() < 1 || weight.numel() == 0) {
    throw std::invalid_argument(subject(name) + " of shape " + shape_to_string(weight.shape()) + " has no elements to quantize");
  }
  for (float v : weight.to_float_vector()) {
    if (!std::isfinite(v)) throw std::invalid_argument(subject(name) + " contains NaN or infinity");
  }
}

Optimizer check_optimizer(QType qtype, std::optional<Optimizer> requested, std::string_view name) {
  const bool sub_byte = is_sub_byte(qtype);
  const Optimizer optimizer = requested.value_or(sub_byte ? Optimizer::Max : Optimizer::Absmax);
  if (sub_byte == (optimizer == Optimizer::Absmax)) {
    throw std::invalid_argument(subject(name) + ": optimizer '" + std::string(optimizer_name(optimizer)) +
                                "' does not apply to " + std::string(qtype_name(qtype)) +
                                (sub_byte ? " (use max, hqq or hqq-per-group)" : " (8-bit qtypes are symmetric: use absmax)"));
  }
  return optimizer;
}

// quanto on a CPU freezes a bfloat16 qint4 Linear weight with G = 128 into its TinyGemm layout
// (the codes unchanged, zero = 8·scale − shift in bfloat16) and saves shift' = 8·scale − zero,
// which is not always −min in bfloat16: writing the same shift keeps our files quanto's.
bool tinygemm_round_trip(const QuantizedWeight& q) {
  return q.qtype == QType::QInt4 && q.float_dtype == DType::BF16 && q.shape.size() == 2 && q.group_size == 128 &&
         q.shape[0] % 16 == 0;
}

Tensor tinygemm_shift(const AffineParams& params) {
  const std::vector<float> scale = params.scale.to_float_vector();
  std::vector<float> shift = params.shift.to_float_vector();
  for (size_t i = 0; i < shift.size(); ++i) {
    const float eight_scale = round_to_dtype(DType::BF16, 8.0f * scale[i]);
    const float zero = round_to_dtype(DType::BF16, eight_scale - shift[i]);
    shift[i] = round_to_dtype(DType::BF16, eight_scale - zero);
  }
  return Tensor::from_floats(DType::BF16, params.shift.shape(), shift);
}

}  // namespace

std::string_view optimizer_name(Optimizer optimizer) {
  switch (optimizer) {
    case Optimizer::Absmax: return "absmax";
    case Optimizer::Max: return "max";
    case Optimizer::Hqq: return "hqq";
    case Optimizer::HqqPerGroup: return "hqq-per-group";
  }
  return "?";
}

Optimizer parse_optimizer(std::string_view name) {
  for (Optimizer o : {Optimizer::Absmax, Optimizer::Max, Optimizer::Hqq, Optimizer::HqqPerGroup}) {
    if (optimizer_name(o) == name) return o;
  }
  throw std::invalid_argument("unknown optimizer '" + std::string(name) + "' (valid: absmax, max, hqq, hqq-per-group)");
}

std::optional<int> resolve_group_size(const Shape& weight_shape, QType qtype, std::optional<int> requested) {
  if (!is_sub_byte(qtype) || weight_shape.empty()) return std::nullopt;
  const int64_t rows = weight_shape.front();
  const int64_t in_features = rows ? shape_numel(weight_shape) / rows : 0;
  if (!requested) return default_group_size(in_features);
  if (*requested == 0) return std::nullopt;
  if (*requested < 0 || in_features % *requested != 0) {
    throw std::invalid_argument("group size " + std::to_string(*requested) + " does not divide the " +
                                std::to_string(in_features) + " inputs of each output row");
  }
  return requested;
}

Tensor QuantizedWeight::serialized_data() const {
  return is_sub_byte(qtype) ? pack_codes(data, bits()) : data;
}

QuantizedWeight quantize_weight(const Tensor& weight, QType qtype, const QuantizeOptions& options, std::string_view name) {
  check_weight(weight, name);
  const Optimizer optimizer = check_optimizer(qtype, options.optimizer, name);
  QuantizedWeight q{qtype, weight.dtype(), weight.shape(), std::nullopt, std::nullopt, {}, {}, {}};
  try {
    if (!is_sub_byte(qtype)) {
      q.axis = effective_symmetric_axis(weight.shape(), options.axis);
      q.scale = absmax_scale(weight, qtype, q.axis);
      q.data = quantize_symmetric(weight, qtype, q.axis, q.scale);
      return q;
    }
    q.axis = 0;
    q.group_size = resolve_group_size(weight.shape(), qtype, options.group_size);
    const Tensor grouped = group_weight(weight, q.group_size);
    AffineParams params = optimizer == Optimizer::Max ? max_optimizer(grouped, qtype)
                                                      : hqq_optimizer(grouped, qtype, {.stop_per_group = optimizer == Optimizer::HqqPerGroup});
    q.data = quantize_affine(grouped, q.bits(), params);
    q.scale = params.scale;
    q.shift = tinygemm_round_trip(q) ? tinygemm_shift(params) : params.shift;
    return q;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(subject(name) + ": " + e.what());
  }
}

QuantizedWeight per_group_layout(QuantizedWeight w) {
  if (!is_sub_byte(w.qtype) || w.data.size(0) != 1 || w.data.numel() == 1) return w;
  const int64_t n = w.data.numel();
  w.data = w.data.reshape({n, 1});
  w.scale = w.scale.reshape({n, 1});
  w.shift = w.shift.reshape({n, 1});
  w.group_size = 1;
  return w;
}

Tensor dequantize(const QuantizedWeight& weight) {
  if (!is_sub_byte(weight.qtype)) return dequantize_symmetric(weight.data, weight.scale, weight.axis);
  return dequantize_affine(weight.data, {weight.scale, weight.shift}).reshape(weight.shape);
}

}  // namespace pq
