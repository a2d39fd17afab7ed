// optimum-quanto's planar packing of 2-/4-bit codes along dim 0 (tensor/packed.py):
//   packed[r] = sum_i codes[r + i*R] << (bits*i),  R = ceil(rows / (8/bits)).
// Adjacent elements are not interleaved; rows past the end contribute zero.
#pragma once

#include <cstdint>

#include "host/tensor.h"

namespace pq {

int64_t packed_rows(int64_t rows, int bits);
// codes: uint8 values in [0, 2^bits), any rank >= 1; returns uint8 with dim 0 = packed_rows.
Tensor pack_codes(const Tensor& codes, int bits);
// Inverse of pack_codes; `rows` is the unpacked dim 0 (needed because the tail is padding).
Tensor unpack_codes(const Tensor& packed, int bits, int64_t rows);

}  // namespace pq
