// The shapes a module tree produces for an input shape, checked layer by layer before anything
// runs, as torch's modules check them: an input that does not fit a layer (a Linear's
// in_features, a Conv2d's channels, a Flatten's dims, a window larger than the padded input)
// is refused naming the module, instead of reaching an op with a shape it cannot handle.
#pragma once

#include <cstdint>
#include <optional>

#include "host/nn/module.h"

namespace pq::nn {

// Elements of a tensor of this shape, or nullopt when the product overflows int64 (or a
// dimension is negative).
std::optional<int64_t> checked_numel(const Shape& shape);

// The runtime's limit on the elements of one tensor (kernels index with 32-bit integers).
inline constexpr int64_t kMaxTensorElements = (int64_t{1} << 31) - 1;

// The output shape of `root` (run as a Sequential: children in order) for an input of shape
// `input`; std::invalid_argument naming the first module whose input does not fit.
Shape check_forward_shapes(const Module& root, const Shape& input);

}  // namespace pq::nn
