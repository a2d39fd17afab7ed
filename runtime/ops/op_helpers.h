// Pieces shared by the op families: grids, float dtypes, case generation, common checks.
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

// Whether `device` runs the texel tier's kernels (runtime/kernel_tiers.h) and `buffer` fits one
// of their texel-buffer bindings (KernelLaunch::texel_buffers).
bool texel_bindable(const DeviceInfo& device, const DeviceBuffer& buffer);

// ---- float dtypes ---------------------------------------------------------------------------
// Float ops take activations in float32, float16 or bfloat16, compute in float32 and round their
// float output into its dtype once (round to nearest even), as torch's CPU kernels do.

bool is_float_dtype(DType d);  // F32, F16 or BF16

// The dtype numbering of the kernels: DT_F32 0, DT_F16 1, DT_BF16 2 (cl/common.cl,
// shaders/common.glsl). Only for float dtypes.
uint32_t float_dtype_code(DType d);

// Throws via op_error unless `spec` is float32, float16 or bfloat16.
void expect_float_dtype(const std::string& op, const std::string& what, const TensorSpec& spec);

// A float dtype given as a parameter (the number of float_dtype_code: 0 float32, 1 float16,
// 2 bfloat16); `fallback` when absent.
DType float_dtype_param(const std::string& op, const OpParams& params, const std::string& name, DType fallback);

// The float dtypes every float op is tested in, and those of them narrower than float32.
const std::vector<DType>& float_dtypes();
inline constexpr DType kNarrowFloatDTypes[] = {DType::F16, DType::BF16};

// ---- conformance inputs -----------------------------------------------------------------------

// Deterministic uniform values in [lo, hi) for conformance inputs.
Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// t with elements offset, offset + stride, ... replaced by NaN, +inf, -inf and -0.0 in turn:
// the special values every float op's conformance cases feed it.
Tensor with_special_values(const Tensor& t, int64_t stride, int64_t offset = 0);

// The rows of a tensor [..., dim] with special values, by row index r mod 7: NaN, +inf or -inf
// at column dim / 3; -0 at every third column; unchanged; -inf throughout; -0 throughout. For
// the row-wise ops (norms, softmax, attention), where one such value changes its whole row.
Tensor with_special_rows(const Tensor& t);

// "f16 " for float16, "bf16 " for bfloat16, "" for float32: the dtype part of a case label.
std::string dtype_tag(DType dtype);

// Element counts used across families: 1, odd primes, and sizes that are not multiples of any
// tile or group size, with one large enough to need a wrapped grid row.
const std::vector<int64_t>& odd_sizes();

// Throws via op_error unless there are `count` inputs of the given dtypes.
void expect_inputs(const std::string& op, const std::vector<TensorSpec>& in, const std::vector<DType>& dtypes);

}  // namespace pq::rt
