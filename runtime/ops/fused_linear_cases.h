// The linear part of a fused linear op's conformance cases (fused_linear, linear_swiglu): x,
// then the weights in the order the fused op's `linear` part takes them, with `linear` and that
// part's parameters set. Each op appends its own inputs after these and finishes the case.
#pragma once

#include <cstdint>

#include "host/quant/quantized_weight.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {

class FusedLinearCaseInputs {
 public:
  explicit FusedLinearCaseInputs(uint32_t first_seed) : seed_(first_seed) {}

  // linear_qbits (linear=1) over int4 codes in the blocked layout the specialised kernels read.
  OpCase int4(int64_t n, int64_t k, int64_t m, DType dtype, int64_t group_size);
  // linear_qbytes (linear=0) over int8 or float8 codes.
  OpCase bytes(int64_t n, int64_t k, int64_t m, DType dtype, QType q);
  // matmul_f32 (linear=2) against a float W [m, k].
  OpCase float_w(int64_t n, int64_t k, int64_t m, DType dtype);

  // The next seed's random tensor in [lo, hi), as dtype.
  Tensor random(DType dtype, const Shape& shape, float lo = -1.0f, float hi = 1.0f);

  // The op's bias, after the weights: has_bias (not matmul_f32's), then the bias when there is one.
  void add_bias(OpCase& c, int64_t m, DType dtype, bool bias);

 private:
  OpCase start(int64_t n, int64_t k, int64_t m, DType dtype);
  uint32_t seed_;
};

}  // namespace pq::rt::linear
