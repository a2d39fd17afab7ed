// GGUF dequantization against gguf-py: every supported ggml type, random blocks with valid
// scales and data quantized by gguf.quants, must give gguf.quants.dequantize's float32 bit for
// bit (fixtures from tests/make_gguf_fixtures.py).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "host/gguf/dequantize.h"
#include "host/gguf/gguf_file.h"
#include "host/safetensors.h"
#include "tests/test_support.h"

namespace pq::gguf {
namespace {

TEST(GgufDequantize, EveryTensorMatchesGgufPyBitForBit) {
  const GgufFile file = GgufFile::open(test::fixture("gguf/dequant_types.gguf"));
  const SafetensorsFile expected = SafetensorsFile::open(test::fixture("gguf/dequant_types_expected.safetensors"));
  ASSERT_EQ(file.tensors().size(), expected.tensors().size());
  for (const GgufTensorInfo& tensor : file.tensors()) {
    SCOPED_TRACE(tensor.name);
    EXPECT_TRUE(test::same_bits(dequantize_tensor(file, tensor), expected.load(tensor.name)));
  }
}

TEST(GgufDequantize, TheFixtureCoversEverySupportedType) {
  const GgufFile file = GgufFile::open(test::fixture("gguf/dequant_types.gguf"));
  std::set<GgmlType> covered;
  for (const GgufTensorInfo& tensor : file.tensors()) covered.insert(tensor.type);
  for (const GgmlTypeInfo& info : all_ggml_types()) {
    EXPECT_EQ(covered.contains(info.type), can_dequantize(info.type)) << info.name;
  }
}

TEST(GgufDequantize, ThreeDimensionalShapeIsRowMajorWithDimsReversed) {
  const GgufFile file = GgufFile::open(test::fixture("gguf/dequant_types.gguf"));
  const GgufTensorInfo* cube = file.find_tensor("Q8_0.cube");
  ASSERT_NE(cube, nullptr);
  EXPECT_EQ(cube->dims, (std::vector<uint64_t>{64, 3, 2}));
  EXPECT_EQ(cube->shape, (Shape{2, 3, 64}));
}

// Hand-derived Q4_1 block: d = 0.5, m = -1, nibbles 0..15 then 15..0 -> d * q + m.
TEST(GgufDequantize, Q4_1MatchesAHandDerivedBlock) {
  std::vector<std::byte> block(20);
  block[0] = std::byte{0x00}, block[1] = std::byte{0x38};  // f16 0.5
  block[2] = std::byte{0x00}, block[3] = std::byte{0xBC};  // f16 -1.0
  for (int j = 0; j < 16; ++j) block[4 + j] = static_cast<std::byte>(j | ((15 - j) << 4));
  std::vector<float> out(32);
  dequantize(GgmlType::Q4_1, block, out);
  for (int i = 0; i < 32; ++i) {
    const int q = i < 16 ? i : 15 - (i - 16);
    EXPECT_EQ(out[i], 0.5f * static_cast<float>(q) - 1.0f) << i;
  }
}

TEST(GgufDequantize, UnsupportedTypeAndSizeMismatchAreRefused) {
  std::vector<std::byte> bytes(66);
  std::vector<float> out(256);
  EXPECT_THROW(dequantize(GgmlType::IQ2_XXS, bytes, out), std::invalid_argument);
  std::vector<float> too_few(31);
  EXPECT_THROW(dequantize(GgmlType::Q8_0, std::span(bytes).first(34), too_few), std::invalid_argument);
}

}  // namespace
}  // namespace pq::gguf
