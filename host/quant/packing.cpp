#include "host/quant/packing.h"

#include <stdexcept>
#include <string>

#include "host/parallel.h"

namespace pq {
namespace {

void check_bits(int bits) {
  if (bits != 2 && bits != 4) throw std::invalid_argument("packing supports 2 and 4 bits, not " + std::to_string(bits));
}

}  // namespace

int64_t packed_rows(int64_t rows, int bits) {
  check_bits(bits);
  const int per_byte = 8 / bits;
  return (rows + per_byte - 1) / per_byte;
}

Tensor pack_codes(const Tensor& codes, int bits) {
  if (codes.dtype() != DType::U8 || codes.dim() < 1) {
    throw std::invalid_argument("pack_codes expects uint8 codes with at least one dimension, got " +
                                std::string(dtype_name(codes.dtype())) + " " + shape_to_string(codes.shape()));
  }
  const Tensor in = codes.contiguous();
  const int64_t rows = in.size(0);
  const int64_t row_len = rows ? in.numel() / rows : 0;
  const int64_t out_rows = packed_rows(rows, bits);
  Shape out_shape = in.shape();
  out_shape[0] = out_rows;
  Tensor out = Tensor::zeros(DType::U8, out_shape);
  const uint8_t* src = in.data<uint8_t>();
  uint8_t* dst = out.data<uint8_t>();
  const int per_byte = 8 / bits;
  const int max_code = (1 << bits) - 1;
  for (int64_t i = 0; i < in.numel(); ++i) {
    if (src[i] > max_code) {
      throw std::invalid_argument("code " + std::to_string(src[i]) + " at index " + std::to_string(i) +
                                  " does not fit in " + std::to_string(bits) + " bits");
    }
  }
  parallel_for(out_rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int lane = 0; lane < per_byte; ++lane) {
        const int64_t source_row = r + lane * out_rows;
        if (source_row >= rows) break;
        const uint8_t* s = src + source_row * row_len;
        uint8_t* d = dst + r * row_len;
        for (int64_t j = 0; j < row_len; ++j) d[j] = static_cast<uint8_t>(d[j] | (s[j] << (bits * lane)));
      }
    }
  });
  return out;
}

Tensor unpack_codes(const Tensor& packed, int bits, int64_t rows) {
  if (packed.dtype() != DType::U8 || packed.dim() < 1) {
    throw std::invalid_argument("unpack_codes expects uint8 packed data, got " +
                                std::string(dtype_name(packed.dtype())) + " " + shape_to_string(packed.shape()));
  }
  if (packed.size(0) != packed_rows(rows, bits)) {
    throw std::invalid_argument("packed data has " + std::to_string(packed.size(0)) + " rows but " +
                                std::to_string(rows) + " rows of " + std::to_string(bits) + "-bit codes need " +
                                std::to_string(packed_rows(rows, bits)));
  }
  const Tensor in = packed.contiguous();
  const int64_t in_rows = in.size(0);
  const int64_t row_len = in_rows ? in.numel() / in_rows : 0;
  Shape out_shape = in.shape();
  out_shape[0] = rows;
  Tensor out = Tensor::zeros(DType::U8, out_shape);
  const uint8_t* src = in.data<uint8_t>();
  uint8_t* dst = out.data<uint8_t>();
  const uint8_t mask = static_cast<uint8_t>((1 << bits) - 1);
  parallel_for(rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t lane = row / in_rows;
      const uint8_t* s = src + (row % in_rows) * row_len;
      uint8_t* d = dst + row * row_len;
      for (int64_t j = 0; j < row_len; ++j) d[j] = static_cast<uint8_t>((s[j] >> (bits * lane)) & mask);
    }
  });
  return out;
}

}  // namespace pq
