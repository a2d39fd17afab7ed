// A weight quantized the way optimum-quanto quantizes module weights, and the entry points
// that produce and undo it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "host/qtype.h"
#include "host/tensor.h"

namespace pq {

// Hqq is optimum-quanto's HqqOptimizer; HqqPerGroup stops each group on its own (better, not quanto's).
enum class Optimizer : uint8_t { Absmax, Max, Hqq, HqqPerGroup };

std::string_view optimizer_name(Optimizer optimizer);
Optimizer parse_optimizer(std::string_view name);  // throws, listing the valid names

struct QuantizeOptions {
  std::optional<Optimizer> optimizer;  // default: absmax for 8-bit qtypes, max below 8 bits
  std::optional<int> group_size;       // sub-byte: overrides quanto's rule; 0 = one group per row
  std::optional<int> axis = 0;         // 8-bit: 0, -1, or nullopt for per-tensor
};

struct QuantizedWeight {
  QType qtype;
  DType float_dtype;                // dtype of the float weight, of scale and of shift
  Shape shape;                      // shape of the float weight
  std::optional<int> axis;          // 8-bit: the effective axis (nullopt = per tensor)
  std::optional<int> group_size;    // sub-byte: nullopt = one group per dim-0 row
  Tensor data;                      // 8-bit: int8/float8 codes in `shape`; sub-byte: unpacked uint8 codes, grouped
  Tensor scale;
  Tensor shift;                     // sub-byte only

  int bits() const { return qtype_info(qtype).bits; }
  // The serialized `_data`: int8/float8 codes, or planar-packed uint8 for sub-byte types.
  Tensor serialized_data() const;
};

// The group size quanto would use for this weight (nullopt for 8-bit qtypes).
std::optional<int> resolve_group_size(const Shape& weight_shape, QType qtype, std::optional<int> requested);

// Throws std::invalid_argument (naming `name` when given) for non-float or non-finite weights,
// an optimizer that does not fit the qtype, or a group size that does not divide the rows.
QuantizedWeight quantize_weight(const Tensor& weight, QType qtype, const QuantizeOptions& options = {},
                                std::string_view name = {});

// The same weight with one scale and shift per group: quanto gives a sub-byte weight of a
// single group row (Linear(n, 1) without groups) one per element instead, which is the
// same codes, scales and shifts regrouped into groups of one element (what the linear kernels
// read). Other weights are returned unchanged.
QuantizedWeight per_group_layout(QuantizedWeight weight);

// The float weight the quantized one stands for, in `float_dtype` and `shape`.
Tensor dequantize(const QuantizedWeight& weight);

}  // namespace pq
