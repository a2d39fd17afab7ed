// Pieces shared by the op families: grids, case generation, common checks.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "runtime/op_registry.h"

namespace pq::rt {

// A 1-D grid over n items of `local` work-items each, wrapped into a second dimension past
// 65535 groups (kernels index it with flat_id()).
KernelLaunch grid_1d(std::string kernel, uint64_t n, uint32_t local = 256);

// Deterministic uniform values in [lo, hi) for conformance inputs.
Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Element counts used across families: 1, odd primes, and sizes that are not multiples of any
// tile or group size, with one large enough to need a wrapped grid row.
const std::vector<int64_t>& odd_sizes();

// Throws via op_error unless there are `count` inputs of the given dtypes.
void expect_inputs(const std::string& op, const std::vector<TensorSpec>& in, const std::vector<DType>& dtypes);

}  // namespace pq::rt
