// The GGUF reader: well-formed files read as gguf-py wrote them, and one test per class of
// malformed input, each a FormatError naming the file and the key or tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "host/gguf/gguf_file.h"
#include "tests/test_support.h"

namespace pq::gguf {
namespace {

// Writes GGUF bytes field by field, so tests can build valid files and break them on purpose.
class GgufBuilder {
 public:
  struct TensorEntry {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    uint64_t offset;
  };

  uint32_t version = 3;
  uint64_t alignment = 32;
  std::vector<TensorEntry> tensors;
  uint64_t data_bytes = 0;  // zero bytes appended after the aligned header

  template <class T>
  static void put(std::vector<std::byte>& out, T value) {
    const auto* bytes = reinterpret_cast<const std::byte*>(&value);
    out.insert(out.end(), bytes, bytes + sizeof(T));
  }
  static void put_string(std::vector<std::byte>& out, const std::string& text) {
    put<uint64_t>(out, text.size());
    for (char c : text) out.push_back(static_cast<std::byte>(c));
  }

  // One metadata entry: key, type and the value's raw bytes.
  void add_raw(const std::string& key, uint32_t type, const std::vector<std::byte>& value) {
    put_string(kv_, key);
    put<uint32_t>(kv_, type);
    kv_.insert(kv_.end(), value.begin(), value.end());
    ++kv_count_;
  }
  void add_u32(const std::string& key, uint32_t value) {
    std::vector<std::byte> bytes;
    put<uint32_t>(bytes, value);
    add_raw(key, 4, bytes);
  }
  void add_string(const std::string& key, const std::string& value) {
    std::vector<std::byte> bytes;
    put_string(bytes, value);
    add_raw(key, 8, bytes);
  }
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    tensors.push_back({name, std::move(dims), type, offset});
  }

  uint64_t kv_count_override = ~uint64_t{0};
  uint64_t tensor_count_override = ~uint64_t{0};

  std::vector<std::byte> build() const {
    std::vector<std::byte> out;
    put<uint32_t>(out, 0x46554747);
    put<uint32_t>(out, version);
    put<uint64_t>(out, tensor_count_override != ~uint64_t{0} ? tensor_count_override : tensors.size());
    put<uint64_t>(out, kv_count_override != ~uint64_t{0} ? kv_count_override : kv_count_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    for (const TensorEntry& tensor : tensors) {
      put_string(out, tensor.name);
      put<uint32_t>(out, static_cast<uint32_t>(tensor.dims.size()));
      for (uint64_t dim : tensor.dims) put<uint64_t>(out, dim);
      put<uint32_t>(out, tensor.type);
      put<uint64_t>(out, tensor.offset);
    }
    while (out.size() % alignment != 0) out.push_back(std::byte{0});
    out.resize(out.size() + data_bytes);
    return out;
  }

 private:
  std::vector<std::byte> kv_;
  uint64_t kv_count_ = 0;
};

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;

GgufBuilder two_tensor_file() {
  GgufBuilder builder;
  builder.add_string("general.architecture", "llama");
  builder.add_u32("llama.block_count", 2);
  builder.add_tensor("a", {4, 2}, kF32, 0);     // 32 bytes
  builder.add_tensor("b", {32}, kQ8_0, 32);     // 34 bytes
  builder.data_bytes = 66;
  return builder;
}

// The error is a FormatError whose message names the file label and contains every part.
void expect_format_error(const std::vector<std::byte>& bytes, const std::vector<std::string>& parts) {
  try {
    GgufFile::from_buffer(bytes, "bad.gguf");
    ADD_FAILURE() << "no FormatError";
  } catch (const FormatError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind("bad.gguf: ", 0), 0u) << message;
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message << " lacks " << part;
  }
}

TEST(GgufReader, ReadsAHandBuiltFile) {
  const GgufFile file = GgufFile::from_buffer(two_tensor_file().build(), "good.gguf");
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.get_string("general.architecture"), "llama");
  EXPECT_EQ(file.get_uint("llama.block_count"), 2u);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].shape, (Shape{2, 4}));
  EXPECT_EQ(file.tensors()[1].nbytes, 34u);
  EXPECT_EQ(file.data_offset() % 32, 0u);
  EXPECT_EQ(file.find_tensor("b")->type, GgmlType::Q8_0);
}

TEST(GgufReader, ReadsVersion2AndACustomAlignment) {
  GgufBuilder builder = two_tensor_file();
  builder.version = 2;
  builder.alignment = 64;
  builder.add_u32("general.alignment", 64);
  builder.tensors[1].offset = 64;
  builder.data_bytes = 98;
  const GgufFile file = GgufFile::from_buffer(builder.build(), "good.gguf");
  EXPECT_EQ(file.alignment(), 64u);
  EXPECT_EQ(file.data_offset() % 64, 0u);
}

TEST(GgufReader, ReadsEveryValueTypeAsGgufPyWroteIt) {
  const GgufFile file = GgufFile::open(test::fixture("../fuzz/corpus_gguf/metadata_types.gguf"));
  EXPECT_EQ(file.get_uint("a.u8"), 7u);
  EXPECT_EQ(file.find("a.i8")->ints, std::vector<int64_t>{-7});
  EXPECT_EQ(file.get_uint("a.u64"), uint64_t{1} << 40);
  EXPECT_EQ(file.find("a.i64")->ints, std::vector<int64_t>{-(int64_t{1} << 40)});
  EXPECT_EQ(file.get_float("a.f32"), 0.5);
  EXPECT_EQ(file.get_float("a.f64"), 0.25);
  EXPECT_EQ(file.get_bool("a.bool"), true);
  EXPECT_EQ(file.get_string("a.string"), "h\xC3\xA9llo");
  EXPECT_EQ(*file.get_string_array("a.strings"), (std::vector<std::string>{"x", "yz", ""}));
  EXPECT_EQ(file.get_int_array("a.ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(file.get_float_array("a.floats"), (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(file.alignment(), 64u);
}

TEST(GgufReader, WrongValueTypeForAGetterNamesTheKey) {
  const GgufFile file = GgufFile::from_buffer(two_tensor_file().build(), "bad.gguf");
  EXPECT_THROW(file.get_string("llama.block_count"), FormatError);
  try {
    file.get_uint("general.architecture");
    FAIL();
  } catch (const FormatError& error) {
    EXPECT_NE(std::string(error.what()).find("'general.architecture'"), std::string::npos);
  }
}

TEST(GgufReader, EveryTruncationIsAFormatError) {
  const std::vector<std::byte> full = two_tensor_file().build();
  for (size_t size = 0; size < full.size(); ++size) {
    const std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_THROW(GgufFile::from_buffer(cut, "cut.gguf"), FormatError) << size;
  }
}

TEST(GgufReader, BadMagicAndVersions) {
  std::vector<std::byte> bytes = two_tensor_file().build();
  bytes[0] = std::byte{'X'};
  expect_format_error(bytes, {"not a GGUF file"});
  GgufBuilder builder = two_tensor_file();
  builder.version = 1;
  expect_format_error(builder.build(), {"version 1 is not supported"});
  builder.version = 0x03000000;
  expect_format_error(builder.build(), {"big-endian"});
}

TEST(GgufReader, CountsThatCannotFitInTheFile) {
  GgufBuilder builder = two_tensor_file();
  builder.kv_count_override = uint64_t{1} << 60;
  expect_format_error(builder.build(), {"metadata count"});
  builder = two_tensor_file();
  builder.tensor_count_override = uint64_t{1} << 60;
  expect_format_error(builder.build(), {"tensor count"});
}

TEST(GgufReader, StringLengthPastTheEndNamesTheKey) {
  GgufBuilder builder;
  std::vector<std::byte> value;
  GgufBuilder::put<uint64_t>(value, uint64_t{1} << 40);  // a string "of a terabyte"
  builder.add_raw("general.name", 8, value);
  expect_format_error(builder.build(), {"'general.name'", "runs past the end"});
}

TEST(GgufReader, ArrayLengthPastTheEndNamesTheKey) {
  GgufBuilder builder;
  std::vector<std::byte> value;
  GgufBuilder::put<uint32_t>(value, 8);                 // of strings
  GgufBuilder::put<uint64_t>(value, uint64_t{1} << 50);  // that many
  builder.add_raw("tokenizer.ggml.tokens", 9, value);
  expect_format_error(builder.build(), {"'tokenizer.ggml.tokens'", "cannot fit"});
}

TEST(GgufReader, NestedArraysAreRefused) {
  GgufBuilder builder;
  std::vector<std::byte> value;
  GgufBuilder::put<uint32_t>(value, 9);  // of arrays
  GgufBuilder::put<uint64_t>(value, 0);
  builder.add_raw("nested", 9, value);
  expect_format_error(builder.build(), {"'nested'", "arrays of arrays"});
}

TEST(GgufReader, UnknownValueTypeNamesTheKey) {
  GgufBuilder builder;
  builder.add_raw("mystery", 13, {std::byte{0}});
  expect_format_error(builder.build(), {"'mystery'", "unknown value type 13"});
}

TEST(GgufReader, BoolOtherThanZeroOrOneNamesTheKey) {
  GgufBuilder builder;
  builder.add_raw("flag", 7, {std::byte{2}});
  expect_format_error(builder.build(), {"'flag'", "bool"});
}

TEST(GgufReader, InvalidUtf8IsRefused) {
  GgufBuilder builder;
  builder.add_string("general.name", "\xC0\x80");  // overlong NUL
  expect_format_error(builder.build(), {"'general.name'", "UTF-8"});
}

TEST(GgufReader, DuplicateKeyIsRefused) {
  GgufBuilder builder = two_tensor_file();
  builder.add_u32("llama.block_count", 3);
  expect_format_error(builder.build(), {"'llama.block_count'", "twice"});
}

TEST(GgufReader, AlignmentMustBeAPowerOfTwoU32) {
  GgufBuilder builder = two_tensor_file();
  builder.add_u32("general.alignment", 48);
  expect_format_error(builder.build(), {"'general.alignment'", "power of two"});
  builder = two_tensor_file();
  builder.add_string("general.alignment", "32");
  expect_format_error(builder.build(), {"'general.alignment'", "u32"});
}

TEST(GgufReader, UnknownTensorTypeNamesTheTensor) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[1].type = 4;  // Q4_2, removed from ggml long ago
  expect_format_error(builder.build(), {"tensor 'b'", "unknown ggml type id 4"});
}

TEST(GgufReader, DimsThatOverflowInt64NameTheTensor) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[0].dims = {uint64_t{1} << 32, uint64_t{1} << 32};
  expect_format_error(builder.build(), {"tensor 'a'", "overflow int64"});
  builder.tensors[0].dims = {uint64_t{1} << 63};
  expect_format_error(builder.build(), {"tensor 'a'", "overflow int64"});
}

TEST(GgufReader, DimensionCountOutOfRangeNamesTheTensor) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[0].dims = {1, 1, 1, 1, 32};
  expect_format_error(builder.build(), {"tensor 'a'", "5 dimensions"});
  builder.tensors[0].dims = {};
  expect_format_error(builder.build(), {"tensor 'a'", "0 dimensions"});
}

TEST(GgufReader, RowsMustHoldWholeBlocks) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[1].dims = {16, 2};
  expect_format_error(builder.build(), {"tensor 'b'", "not a multiple of the Q8_0 block size 32"});
}

TEST(GgufReader, DataPastTheEndNamesTheTensor) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[1].dims = {32 * 1000};  // more blocks than the file holds
  expect_format_error(builder.build(), {"tensor 'b'", "past the end"});
  builder = two_tensor_file();
  builder.tensors[1].offset = uint64_t{1} << 62;
  expect_format_error(builder.build(), {"tensor 'b'", "past the end"});
}

TEST(GgufReader, MisalignedOffsetNamesTheTensor) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[1].offset = 33;
  expect_format_error(builder.build(), {"tensor 'b'", "not a multiple of the alignment 32"});
}

TEST(GgufReader, OverlappingTensorsNameBoth) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[0].dims = {16, 2};  // 128 bytes: reaches into b
  builder.tensors[1].offset = 64;
  builder.data_bytes = 128;
  expect_format_error(builder.build(), {"'b'", "overlap", "'a'"});
}

TEST(GgufReader, DuplicateTensorNameIsRefused) {
  GgufBuilder builder = two_tensor_file();
  builder.tensors[1].name = "a";
  expect_format_error(builder.build(), {"tensor 'a'", "twice"});
}

}  // namespace
}  // namespace pq::gguf
