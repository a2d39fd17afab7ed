// Arithmetic "in the weight's own dtype", the way torch does it on the CPU: each binary op is
// computed in float32 and its result rounded to the dtype. For f16 and bf16 this double rounding
// equals a correctly rounded op in that dtype (float32 carries more than 2p+2 bits), so results
// match torch to the bit.
#pragma once

#include "host/dtype.h"
#include "host/float_format.h"

namespace pq {

class DTypeArithmetic {
 public:
  explicit DTypeArithmetic(DType dtype) : dtype_(dtype) {}
  DType dtype() const { return dtype_; }
  float round(float v) const { return dtype_ == DType::F32 ? v : round_to_dtype(dtype_, v); }
  float add(float a, float b) const { return round(a + b); }
  float sub(float a, float b) const { return round(a - b); }
  float mul(float a, float b) const { return round(a * b); }
  float div(float a, float b) const { return round(a / b); }

 private:
  DType dtype_;
};

}  // namespace pq
