// Planar packing of 2-/4-bit codes, hand-derived for odd row counts, and round trips.
#include <gtest/gtest.h>

#include <random>

#include "host/quant/packing.h"
#include "tests/test_support.h"

namespace pq {
namespace {

Tensor codes(Shape shape, std::vector<uint8_t> values) { return Tensor::from_values(DType::U8, std::move(shape), values); }

TEST(Packing, Int4OddRowsIsPlanarAlongDim0) {
  // R = ceil(5/2) = 3: low nibble row r, high nibble row r+3; row 5 does not exist.
  const Tensor packed = pack_codes(codes({5, 1}, {1, 2, 3, 4, 5}), 4);
  EXPECT_TRUE(test::same_bits(packed, codes({3, 1}, {0x41, 0x52, 0x03})));
}

TEST(Packing, Int2OddRowsIsPlanarAlongDim0) {
  // R = ceil(5/4) = 2: bits [1:0] row r, [3:2] row r+2, [5:4] row r+4, [7:6] row r+6.
  const Tensor packed = pack_codes(codes({5, 2}, {1, 0, 2, 1, 3, 2, 0, 3, 1, 1}), 2);
  const uint8_t p0c0 = 1 | (3 << 2) | (1 << 4), p0c1 = 0 | (2 << 2) | (1 << 4);
  const uint8_t p1c0 = 2 | (0 << 2), p1c1 = 1 | (3 << 2);
  EXPECT_TRUE(test::same_bits(packed, codes({2, 2}, {p0c0, p0c1, p1c0, p1c1})));
}

TEST(Packing, RoundTripsAnyRowCount) {
  std::mt19937 rng(42);
  for (int bits : {2, 4}) {
    for (int64_t rows : {1, 2, 3, 4, 5, 7, 8, 9, 13, 64, 127}) {
      std::vector<uint8_t> values(static_cast<size_t>(rows * 3));
      for (auto& v : values) v = static_cast<uint8_t>(rng() % (1u << bits));
      const Tensor original = codes({rows, 3}, values);
      const Tensor packed = pack_codes(original, bits);
      EXPECT_EQ(packed.size(0), packed_rows(rows, bits));
      EXPECT_TRUE(test::same_bits(unpack_codes(packed, bits, rows), original)) << bits << " bits, " << rows << " rows";
    }
  }
}

TEST(Packing, RejectsCodesThatDoNotFitAndWrongRowCounts) {
  EXPECT_THROW(pack_codes(codes({2, 1}, {3, 16}), 4), std::invalid_argument);
  EXPECT_THROW(pack_codes(codes({2, 1}, {3, 1}), 3), std::invalid_argument);
  EXPECT_THROW(unpack_codes(codes({3, 1}, {0, 0, 0}), 4, 7), std::invalid_argument);
}

}  // namespace
}  // namespace pq
