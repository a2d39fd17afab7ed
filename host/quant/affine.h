// Group-wise affine quantization of 2-/4-bit weights (optimum-quanto's MaxOptimizer,
// HqqOptimizer, quantize_affine and QBitsDequantizer with a float shift).
// All functions work on the grouped tensor: dim 0 indexes groups, the rest is one group.
#pragma once

#include "host/qtype.h"
#include "host/tensor.h"

namespace pq {

struct AffineParams {
  Tensor scale;  // (groups, 1, ...) in the weight's dtype; (1, n...) for a single group row
  Tensor shift;  // same shape and dtype; the negated group minimum
};

struct HqqOptions {
  float lp_norm = 0.7f;
  float beta = 10.0f;
  float kappa = 1.01f;
  int iterations = 20;
  // false: optimum-quanto's HqqOptimizer, every group in lockstep, stopping all of them when the
  // mean error of the whole tensor stops falling. true: each group keeps its own best shift.
  bool stop_per_group = false;
};

// The weight reshaped to (numel/G, G); with no group size, unchanged (one group per dim-0 row).
Tensor group_weight(const Tensor& weight, std::optional<int> group_size);

// scale = (max - min) / (2^bits - 1), shift = -min, as quanto: a zero-range group gets scale 0
// and codes 0 (quanto's 0/0 cast to uint8), which dequantize exactly to its constant value. A
// grouped tensor of a single row (Linear(n, 1) without groups) is reduced over dim 0 as quanto
// does it: one scale (0) and shift (−w) per element, shape (1, n), exact as well.
AffineParams max_optimizer(const Tensor& grouped, QType qtype);

// HQQ refines the shift of each group (scale unchanged), arithmetic in the weight's dtype as
// torch's ops round it. With stop_per_group no group ever ends worse than the max optimizer left it.
AffineParams hqq_optimizer(const Tensor& grouped, QType qtype, const HqqOptions& options = {});

// q = clamp(rint((W + shift) / scale), 0, 2^bits - 1) as uint8, arithmetic in W's dtype.
Tensor quantize_affine(const Tensor& grouped, int bits, const AffineParams& params);

// W' = scale * q - shift in the scale's dtype, in the grouped shape.
Tensor dequantize_affine(const Tensor& codes, const AffineParams& params);

}  // namespace pq
