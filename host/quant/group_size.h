// optimum-quanto's group-size rule for sub-byte weights (nn/qmodule.py).
#pragma once

#include <cstdint>
#include <optional>

namespace pq {

// 128 if in_features > 128 and it divides, else the first of 96, 64, 32 that divides;
// nullopt (one group per output row) when in_features <= 128 or nothing divides.
std::optional<int> default_group_size(int64_t in_features);

}  // namespace pq
