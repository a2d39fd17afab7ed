// The blocked device layout of sub-byte weights (runtime/ops/linear_layout.h): codes where the
// header says they are (hand-derived positions), exact round trips back to optimum-quanto's
// planar packing, and clear errors for shapes it does not cover.
#include <gtest/gtest.h>

#include <random>

#include "host/quant/packing.h"
#include "runtime/ops/linear_layout.h"
#include "tests/test_support.h"

namespace pq::rt::linear {
namespace {

// quanto's packed codes of a [m, k] weight whose code (r, c) is code(r, c), groups of G.
template <class Code>
Tensor quanto_packed(int64_t m, int64_t k, int64_t g, int bits, Code code) {
  std::vector<uint8_t> grouped(static_cast<size_t>(m * k));
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t c = 0; c < k; ++c) grouped[static_cast<size_t>(r * k + c)] = code(r, c);
  }
  // The grouped code matrix [m·k/G, G] is the weight's rows cut into groups, in order.
  return pack_codes(Tensor::from_values(DType::U8, {m * k / g, g}, grouped), bits);
}

uint8_t nibble(const Tensor& t, int64_t byte, bool high) {
  const uint8_t v = t.data<uint8_t>()[byte];
  return high ? v >> 4 : v & 15;
}

TEST(BlockedLayout, Int4CodesSitWhereTheHeaderSays) {
  // m = 9 (two row groups, the second padded), k = 64 (two blocks), G = 32.
  auto code = [](int64_t r, int64_t c) { return static_cast<uint8_t>((r * 7 + c * 3) % 16); };
  const Tensor blocked = repack_blocked_codes(quanto_packed(9, 64, 32, 4, code), 9, 64, 32, 4);
  ASSERT_EQ(blocked.shape(), (Shape{16, 32}));
  // (r=0, c=0): row group 0, block 0, lane 0, byte 0, low nibble.
  EXPECT_EQ(nibble(blocked, 0, false), code(0, 0));
  // (r=3, c=40): block 1 of row group 0 starts at 128; lane 3 at +48; c - 32 = 8 < 16: byte 8, low.
  EXPECT_EQ(nibble(blocked, 128 + 48 + 8, false), code(3, 40));
  // (r=3, c=57): the same block row, c - 32 = 25 ≥ 16: byte 9, high nibble.
  EXPECT_EQ(nibble(blocked, 128 + 48 + 9, true), code(3, 57));
  // (r=8, c=17): row group 1 starts at 2 blocks · 128 = 256; lane 0; byte 1, high nibble.
  EXPECT_EQ(nibble(blocked, 256 + 1, true), code(8, 17));
  // Rows 9..15 are padding: all zero.
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t lane = 1; lane < 8; ++lane) {
      for (int64_t j = 0; j < 16; ++j) EXPECT_EQ(blocked.data<uint8_t>()[256 + b * 128 + lane * 16 + j], 0);
    }
  }
}

TEST(BlockedLayout, Int2UsesFourFieldsOfEightCodes) {
  // int2: 8 bytes per block row; byte j holds c = j, j+8, j+16, j+24 in bits 0-1, 2-3, 4-5, 6-7.
  auto code = [](int64_t r, int64_t c) { return static_cast<uint8_t>((r + c * 5) % 4); };
  const Tensor blocked = repack_blocked_codes(quanto_packed(8, 32, 32, 2, code), 8, 32, 32, 2);
  ASSERT_EQ(blocked.shape(), (Shape{8, 8}));
  const uint8_t byte = blocked.data<uint8_t>()[2 * 8 + 3];  // row 2, byte 3
  EXPECT_EQ(byte, code(2, 3) | code(2, 11) << 2 | code(2, 19) << 4 | code(2, 27) << 6);
}

TEST(BlockedLayout, RoundTripsToQuantosCodesBitForBit) {
  std::mt19937 rng(7);
  for (int bits : {2, 4}) {
    for (int64_t m : {1, 2, 7, 8, 9, 17, 64}) {
      for (auto [k, g] : {std::pair<int64_t, int64_t>{32, 32}, {64, 32}, {96, 96}, {256, 128}, {320, 64}}) {
        auto code = [&](int64_t, int64_t) { return static_cast<uint8_t>(rng() % (1u << bits)); };
        const Tensor packed = quanto_packed(m, k, g, bits, code);
        const Tensor blocked = repack_blocked_codes(packed, m, k, g, bits);
        EXPECT_EQ(blocked.shape(), blocked_shape(m, k, bits));
        EXPECT_TRUE(test::same_bits(unpack_blocked_codes(blocked, m, k, g, bits), packed))
            << bits << " bits, m=" << m << " k=" << k << " G=" << g;
      }
    }
  }
}

TEST(BlockedLayout, GroupValuesFollowTheRowGroups) {
  // m = 9 rows, 3 groups per row: value (r, g) = 10·r + g; blocked: ((r/8)·3 + g)·8 + r%8.
  std::vector<float> values;
  for (int r = 0; r < 9; ++r) {
    for (int g = 0; g < 3; ++g) values.push_back(static_cast<float>(10 * r + g));
  }
  const Tensor rows = Tensor::from_floats(DType::F32, {27}, values);
  const Tensor blocked = repack_blocked_groups(rows, 9, 3);
  ASSERT_EQ(blocked.shape(), (Shape{48}));
  const std::vector<float> b = blocked.to_float_vector();
  EXPECT_EQ(b[(0 * 3 + 1) * 8 + 5], 51.0f);  // r = 5, g = 1
  EXPECT_EQ(b[(1 * 3 + 2) * 8 + 0], 82.0f);  // r = 8, g = 2: the second row group
  EXPECT_EQ(b[(1 * 3 + 2) * 8 + 1], 0.0f);   // padding row 9
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    const Tensor t = rows.to(dtype);
    EXPECT_TRUE(test::same_bits(unpack_blocked_groups(repack_blocked_groups(t, 9, 3), 9, 3), t)) << dtype_name(dtype);
  }
  EXPECT_THROW(repack_blocked_groups(rows, 9, 4), std::invalid_argument);
}

TEST(BlockedLayout, RefusesGroupsThatAreNotWholeBlocks) {
  EXPECT_FALSE(blocked_layout_supported(129, 129, 4));
  EXPECT_FALSE(blocked_layout_supported(64, 16, 4));
  EXPECT_FALSE(blocked_layout_supported(64, 32, 8));
  EXPECT_TRUE(blocked_layout_supported(4096, 128, 4));
  const Tensor packed = quanto_packed(4, 48, 16, 4, [](int64_t, int64_t) { return uint8_t{1}; });
  EXPECT_THROW(repack_blocked_codes(packed, 4, 48, 16, 4), std::invalid_argument);
  // Codes of the wrong shape name what was expected.
  try {
    repack_blocked_codes(Tensor::zeros(DType::U8, {3, 32}), 4, 64, 32, 4);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("uint8 [4, 32]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pq::rt::linear
