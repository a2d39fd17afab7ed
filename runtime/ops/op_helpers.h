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

// ---- float dtypes ---------------------------------------------------------------------------
// Float ops take activations in float32, float16 or bfloat16, compute in float32 and round their
// float output into its dtype once (round to nearest even), as torch's CPU kernels do.

bool is_float_dtype(DType d);  // F32, F16 or BF16

// The dtype numbering of the kernels: DT_F32 0, DT_F16 1, DT_BF16 2 (cl/common.cl,
// shaders/common.glsl). Only for float dtypes.
uint32_t float_dtype_code(DType d);

// The float dtypes every float op is tested in.
const std::vector<DType>& float_dtypes();

// Deterministic uniform values in [lo, hi) for conformance inputs.
Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Element counts used across families: 1, odd primes, and sizes that are not multiples of any
// tile or group size, with one large enough to need a wrapped grid row.
const std::vector<int64_t>& odd_sizes();

// Throws via op_error unless there are `count` inputs of the given dtypes.
void expect_inputs(const std::string& op, const std::vector<TensorSpec>& in, const std::vector<DType>& dtypes);

}  // namespace pq::rt
