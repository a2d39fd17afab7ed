// Symmetric 8-bit quantization (qint8 and the three qfloat8), as optimum-quanto's
// AbsmaxOptimizer + quantize_symmetric + QBytesDequantizer.
#pragma once

#include <optional>

#include "host/qtype.h"
#include "host/tensor.h"

namespace pq {

// axis: 0 (one scale per index of dim 0), -1 (per index of the last dim) or nullopt (per tensor).
// A per-axis request on a dim of size 1 becomes per-tensor, as in quanto.
std::optional<int> effective_symmetric_axis(const Shape& shape, std::optional<int> axis);

// (O,1,..,1) for axis 0, (1,..,1,I) for axis -1, [] per tensor.
Shape symmetric_scale_shape(const Shape& weight_shape, std::optional<int> axis);

// scale = amax(|W|) / qmax in W's dtype, shaped (O,1,..), (1,..,I) or []. A zero amax gives
// scale 1.0 (quanto: 0, and NaN codes) so that the codes are 0 and dequantize exactly.
Tensor absmax_scale(const Tensor& weight, QType qtype, std::optional<int> axis);

// int8: clamp(rint(W/s), -128, 127); float8: RNE cast of clamp(W/s, ±max). W/s is rounded to
// W's dtype first, as torch computes it.
Tensor quantize_symmetric(const Tensor& weight, QType qtype, std::optional<int> axis, const Tensor& scale);

// W' = s * q, rounded to the scale's dtype.
Tensor dequantize_symmetric(const Tensor& data, const Tensor& scale, std::optional<int> axis);

}  // namespace pq
