#include "host/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <numeric>

#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- helpers

std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  if (!chars.empty()) std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

void write_file(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::byte> to_bytes(std::string_view text) {
  const auto bytes = std::as_bytes(std::span<const char>(text));
  return {bytes.begin(), bytes.end()};
}

// A raw safetensors file: length field (the header's size unless given), header, data bytes.
std::vector<std::byte> raw_file(const std::string& header, size_t data_bytes = 0,
                                std::optional<uint64_t> length = std::nullopt) {
  std::vector<std::byte> bytes(8);
  const uint64_t n = length.value_or(header.size());
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>(n >> (8 * i));
  const auto text = to_bytes(header);
  bytes.insert(bytes.end(), text.begin(), text.end());
  for (size_t i = 0; i < data_bytes; ++i) bytes.push_back(static_cast<std::byte>(i * 7 + 1));
  return bytes;
}

std::vector<std::string> file_names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Tensor patterned(DType dtype, Shape shape, int seed = 0) {
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  std::byte* data = t.raw_data();
  for (size_t i = 0; i < t.nbytes(); ++i) data[i] = static_cast<std::byte>((i * 31 + static_cast<size_t>(seed) * 17 + 5) & 0xFF);
  if (dtype == DType::Bool) {
    for (size_t i = 0; i < t.nbytes(); ++i) data[i] = static_cast<std::byte>(i % 2);
  }
  return t;
}

// Storage whose bytes cannot be read: the writer fails half-way through the file.
class UnreadableStorage final : public Storage {
 public:
  std::byte* data() override { throw std::runtime_error("device lost while reading tensor"); }
  size_t size() const override { return 64; }
};

// The message of the FormatError `action` throws (a test failure if it throws nothing).
std::string format_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const FormatError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a pq::FormatError";
  return {};
}

// ---------------------------------------------------------------- round trips

TEST(Safetensors, RoundTripsEveryDTypeWithRankZeroEmptyTensorsAndMetadata) {
  test::TempDir dir;
  NamedTensors tensors;
  int seed = 0;
  for (DType dtype : kAllDTypes) {
    const std::string name(safetensors_dtype_name(dtype));
    tensors.emplace_back("matrix." + name, patterned(dtype, {3, 5}, seed++));
    tensors.emplace_back("scalar." + name, patterned(dtype, {}, seed++));
    tensors.emplace_back("empty." + name, Tensor::zeros(dtype, {0, 4}));
  }
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"quanto", "qint4 group 128"}, {"ünïcode", "✓"}};
  save_safetensors(dir / "all.safetensors", tensors, metadata);

  const SafetensorsFile file = SafetensorsFile::open(dir / "all.safetensors");
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    ASSERT_TRUE(file.contains(name)) << name;
    const TensorInfo& info = file.info(name);
    EXPECT_EQ(info.dtype, tensor.dtype()) << name;
    EXPECT_EQ(info.shape, tensor.shape()) << name;
    EXPECT_EQ(info.end - info.begin, tensor.nbytes()) << name;
    EXPECT_TRUE(test::same_bits(file.load(name), tensor)) << name;
  }
}

TEST(Safetensors, SerializeGivesTheBytesSaveWrites) {
  test::TempDir dir;
  const NamedTensors tensors{{"w", patterned(DType::BF16, {4, 3})}, {"b", patterned(DType::F32, {4})}};
  save_safetensors(dir / "a.safetensors", tensors, {{"k", "v"}});
  EXPECT_EQ(read_file(dir / "a.safetensors"), serialize_safetensors(tensors, {{"k", "v"}}));
}

TEST(Safetensors, FromBufferReadsSerializedBytes) {
  const NamedTensors tensors{{"x", patterned(DType::I16, {2, 2})}};
  const SafetensorsFile file = SafetensorsFile::from_buffer(serialize_safetensors(tensors), "in-memory");
  EXPECT_EQ(file.label(), "in-memory");
  EXPECT_TRUE(file.path().empty());
  EXPECT_TRUE(test::same_bits(file.load("x"), tensors[0].second));
}

TEST(Safetensors, WritesNonContiguousTensorsInRowMajorOrder) {
  const Tensor matrix = Tensor::from_values<int32_t>(DType::I32, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor transposed = matrix.transpose(0, 1);
  ASSERT_FALSE(transposed.is_contiguous());
  const SafetensorsFile file = SafetensorsFile::from_buffer(serialize_safetensors({{"t", transposed}}), "t");
  const Tensor loaded = file.load("t");
  EXPECT_EQ(loaded.shape(), (Shape{3, 2}));
  EXPECT_EQ(loaded.to_float_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

// ---------------------------------------------------------------- layout

TEST(SafetensorsLayout, MatchesAHandDerivedHeader) {
  // Descending alignment (the reference writer's dtype order), then name; "__metadata__"
  // first; padded with spaces to a multiple of 8.
  const NamedTensors tensors{
      {"b", Tensor::from_values<float>(DType::F32, {2}, {1.0f, 2.0f})},
      {"c", Tensor::from_values<uint16_t>(DType::F16, {}, {0x3C00})},
      {"a", Tensor::from_values<int8_t>(DType::I8, {3}, {-1, 0, 1})},
      {"z.bias", Tensor::from_values<int64_t>(DType::I64, {1}, {7})},
      {"y", Tensor::from_values<float>(DType::F32, {0, 2}, {})},
  };
  const std::string json =
      R"({"__metadata__":{"format":"pt"},)"
      R"("z.bias":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
      R"("y":{"dtype":"F32","shape":[0,2],"data_offsets":[16,16]},)"
      R"("c":{"dtype":"F16","shape":[],"data_offsets":[16,18]},)"
      R"("a":{"dtype":"I8","shape":[3],"data_offsets":[18,21]}})";
  ASSERT_EQ(json.size(), 309u);  // 309 = 38 * 8 + 5: three spaces of padding
  const std::string header = json + "   ";

  const std::vector<std::byte> bytes = serialize_safetensors(tensors, {{"format", "pt"}});
  ASSERT_EQ(bytes.size(), 8 + header.size() + 21);
  EXPECT_EQ(bytes[0], std::byte{312 & 0xFF});
  EXPECT_EQ(bytes[1], std::byte{312 >> 8});
  for (size_t i = 2; i < 8; ++i) EXPECT_EQ(bytes[i], std::byte{0});
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data() + 8), header.size()), header);
  const std::vector<uint8_t> data{7, 0, 0, 0, 0, 0, 0, 0,              // z.bias
                                  0, 0, 0x80, 0x3F, 0, 0, 0, 0x40,     // b
                                  0x00, 0x3C,                          // c
                                  0xFF, 0x00, 0x01};                   // a
  for (size_t i = 0; i < data.size(); ++i) EXPECT_EQ(bytes[8 + header.size() + i], std::byte{data[i]}) << i;
}

TEST(SafetensorsLayout, MatchesTheReferenceWritersTestVectors) {
  const Tensor values = Tensor::from_values<float>(DType::F32, {1, 2, 3}, {0, 1, 2, 3, 4, 5});
  // An already aligned header gets no padding.
  const auto plain = serialize_safetensors({{"attn.0", values}});
  const std::string plain_header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(plain_header.size(), 64u);
  EXPECT_EQ(plain, [&] {
    auto expected = raw_file(plain_header);
    const auto data = values.bytes();
    expected.insert(expected.end(), data.begin(), data.end());
    return expected;
  }());
  // A 65-byte header gets 7 spaces.
  const auto padded = serialize_safetensors({{"attn0", values.view({1, 1, 2, 3})}});
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(padded.data() + 8), 72),
            std::string(R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})") + "       ");
  EXPECT_EQ(padded[0], std::byte{72});
  // No tensors at all.
  EXPECT_EQ(serialize_safetensors({}), raw_file("{}      "));
  EXPECT_EQ(serialize_safetensors({}, {{"framework", "pt"}}), raw_file(R"({"__metadata__":{"framework":"pt"}})"
                                                                       "     "));
}

TEST(SafetensorsLayout, IsDeterministicWhateverTheInputOrder) {
  NamedTensors tensors{{"b", patterned(DType::F16, {3})}, {"a", patterned(DType::U8, {5})},
                       {"c", patterned(DType::I64, {2})}, {"d", patterned(DType::F16, {1})}};
  const auto first = serialize_safetensors(tensors, {{"y", "1"}, {"x", "2"}});
  std::reverse(tensors.begin(), tensors.end());
  EXPECT_EQ(serialize_safetensors(tensors, {{"x", "2"}, {"y", "1"}}), first);
}

TEST(SafetensorsLayout, AlignsEveryTensorToItsElementSize) {
  NamedTensors tensors;
  for (DType dtype : kAllDTypes) tensors.emplace_back(std::string(dtype_name(dtype)), patterned(dtype, {3}));
  const auto bytes = serialize_safetensors(tensors);
  const SafetensorsFile file = SafetensorsFile::from_buffer(bytes, "aligned");
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), 8);
  EXPECT_EQ(header_bytes % 8, 0u);
  for (const TensorInfo& info : file.tensors()) EXPECT_EQ(info.begin % dtype_size(info.dtype), 0u) << info.name;
}

// ---------------------------------------------------------------- writer errors and atomicity

TEST(SafetensorsWriter, RejectsADuplicateNameAndWritesNothing) {
  test::TempDir dir;
  const NamedTensors tensors{{"fc.weight", patterned(DType::F32, {2})}, {"fc.weight", patterned(DType::F32, {3})}};
  try {
    save_safetensors(dir / "dup.safetensors", tensors);
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr("'fc.weight'"));
  }
  EXPECT_TRUE(file_names_in(dir.path()).empty());
}

TEST(SafetensorsWriter, RejectsReservedUndefinedAndNonUtf8Names) {
  EXPECT_THROW(serialize_safetensors({{"__metadata__", patterned(DType::F32, {1})}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"w", Tensor()}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"bad\xff", patterned(DType::F32, {1})}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({}, {{"k", "bad\xc3"}}), std::invalid_argument);
}

TEST(SafetensorsWriter, AFailureHalfWayLeavesNoFileAndNoTempFile) {
  test::TempDir dir;
  const Tensor unreadable = Tensor::from_storage(std::make_shared<UnreadableStorage>(), 0, DType::F32, {4});
  const NamedTensors tensors{{"a", patterned(DType::F32, {1000})}, {"b", unreadable}};
  EXPECT_THROW(save_safetensors(dir / "model.safetensors", tensors), std::runtime_error);
  EXPECT_TRUE(file_names_in(dir.path()).empty());
}

TEST(SafetensorsWriter, AFailureLeavesAnExistingTargetUntouched) {
  test::TempDir dir;
  const fs::path target = dir / "model.safetensors";
  save_safetensors(target, {{"kept", patterned(DType::F16, {8})}});
  const auto before = read_file(target);
  const Tensor unreadable = Tensor::from_storage(std::make_shared<UnreadableStorage>(), 0, DType::F32, {4});
  EXPECT_THROW(save_safetensors(target, {{"a", patterned(DType::F32, {4})}, {"b", unreadable}}), std::runtime_error);
  EXPECT_EQ(read_file(target), before);
  EXPECT_EQ(file_names_in(dir.path()), std::vector<std::string>{"model.safetensors"});
}

TEST(SafetensorsWriter, ReplacesAnExistingFile) {
  test::TempDir dir;
  const fs::path target = dir / "model.safetensors";
  save_safetensors(target, {{"old", patterned(DType::F16, {8})}});
  save_safetensors(target, {{"new", patterned(DType::I8, {3})}});
  const SafetensorsFile file = SafetensorsFile::open(target);
  EXPECT_TRUE(file.contains("new"));
  EXPECT_FALSE(file.contains("old"));
  EXPECT_EQ(file_names_in(dir.path()), std::vector<std::string>{"model.safetensors"});
}

TEST(SafetensorsWriter, MissingDirectoryIsAnIoError) {
  test::TempDir dir;
  EXPECT_THROW(save_safetensors(dir / "no" / "such" / "x.safetensors", {}), std::system_error);
  EXPECT_TRUE(file_names_in(dir.path()).empty());
}

// ---------------------------------------------------------------- loading

TEST(SafetensorsLoad, IsAZeroCopyPrivateViewOfTheMapping) {
  test::TempDir dir;
  const fs::path path = dir / "m.safetensors";
  save_safetensors(path, {{"w", Tensor::from_values<float>(DType::F32, {2, 2}, {1, 2, 3, 4})}});
  const auto on_disk = read_file(path);
  const SafetensorsFile file = SafetensorsFile::open(path);
  Tensor first = file.load("w");
  const Tensor second = file.load("w");
  EXPECT_EQ(first.raw_data(), second.raw_data());  // both views of the one mapping
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first.raw_data()) % alignof(float), 0u);
  first.data<float>()[0] = 42.0f;
  EXPECT_EQ(second.data<float>()[0], 42.0f);
  EXPECT_EQ(read_file(path), on_disk);  // MAP_PRIVATE: the file never changes
  EXPECT_EQ(SafetensorsFile::open(path).load("w").data<float>()[0], 1.0f);
}

TEST(SafetensorsLoad, TensorsOutliveTheirFileObject) {
  test::TempDir dir;
  save_safetensors(dir / "m.safetensors", {{"w", Tensor::from_values<int32_t>(DType::I32, {3}, {5, 6, 7})}});
  Tensor kept;
  {
    const SafetensorsFile file = SafetensorsFile::open(dir / "m.safetensors");
    kept = file.load("w");
  }
  EXPECT_EQ(kept.to_float_vector(), (std::vector<float>{5, 6, 7}));
}

TEST(SafetensorsLoad, CopiesATensorWhoseAddressIsMisaligned) {
  // An old-style writer: no padding, a 1-byte tensor first, so the F32 one starts at an odd address.
  const std::string header = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},)"
                             R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  auto bytes = raw_file(header);
  bytes.push_back(std::byte{9});
  const Tensor expected = Tensor::from_values<float>(DType::F32, {2}, {1.5f, -2.0f});
  bytes.insert(bytes.end(), expected.bytes().begin(), expected.bytes().end());
  ASSERT_NE((8 + header.size() + 1) % 4, 0u);
  const SafetensorsFile file = SafetensorsFile::from_buffer(bytes, "old-writer");
  const Tensor loaded = file.load("b");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(loaded.raw_data()) % alignof(float), 0u);
  EXPECT_TRUE(test::same_bits(loaded, expected));
  EXPECT_EQ(file.load("a").data<uint8_t>()[0], 9);
}

TEST(SafetensorsLoad, AcceptsAnyHeaderOrderAndSpacePaddingAndSortsByOffset) {
  const std::string header = R"({"late":{"dtype":"I16","shape":[2],"data_offsets":[4,8]},)"
                             R"("__metadata__":{"a":"b"},)"
                             R"("early":{"shape":[4],"data_offsets":[0,4],"dtype":"U8","comment":"ignored"},)"
                             R"("void":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}          )";
  const SafetensorsFile file = SafetensorsFile::from_buffer(raw_file(header, 8), "ordered");
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.tensors()[0].name, "early");
  EXPECT_EQ(file.tensors()[1].name, "void");
  EXPECT_EQ(file.tensors()[2].name, "late");
  EXPECT_EQ(file.metadata().at("a"), "b");
  EXPECT_EQ(file.load("void").numel(), 0);
}

TEST(SafetensorsLoad, AcceptsAZeroExtentBesideAHugeOne) {
  const std::string header = R"({"e":{"dtype":"F32","shape":[0,1099511627776],"data_offsets":[0,0]}})";
  const SafetensorsFile file = SafetensorsFile::from_buffer(raw_file(header), "empty");
  EXPECT_EQ(file.load("e").numel(), 0);
}

TEST(SafetensorsLoad, UnknownNameIsOutOfRange) {
  const SafetensorsFile file = SafetensorsFile::from_buffer(serialize_safetensors({}), "none");
  EXPECT_FALSE(file.contains("w"));
  EXPECT_THROW(file.info("w"), std::out_of_range);
  EXPECT_THROW(file.load("w"), std::out_of_range);
}

TEST(SafetensorsLoad, MissingFileIsAnIoError) {
  test::TempDir dir;
  EXPECT_THROW(SafetensorsFile::open(dir / "absent.safetensors"), std::system_error);
  EXPECT_THAT(format_error_of([&] { SafetensorsFile::open(dir.path()); }), HasSubstr("not a regular file"));
}

// ---------------------------------------------------------------- malformed files

// Each case writes the bad bytes to "bad.safetensors" and checks the message names the file,
// the tensor (when there is one) and what is wrong.
class MalformedSafetensors : public ::testing::Test {
 protected:
  std::string error_for(const std::vector<std::byte>& bytes) {
    const fs::path path = dir_ / "bad.safetensors";
    write_file(path, bytes);
    std::string message = format_error_of([&] { SafetensorsFile::open(path); });
    EXPECT_THAT(message, HasSubstr("bad.safetensors"));
    // The in-memory reader agrees, naming its label instead.
    EXPECT_THAT(format_error_of([&] { SafetensorsFile::from_buffer(bytes, "buffer-label"); }),
                HasSubstr("buffer-label"));
    return message;
  }
  std::string error_for(const std::string& header, size_t data_bytes = 0) {
    return error_for(raw_file(header, data_bytes));
  }
  // A header of one tensor 'fc.weight' with the given entry.
  std::string entry_error(const std::string& entry, size_t data_bytes = 16) {
    return error_for(R"({"fc.weight":)" + entry + "}", data_bytes);
  }

  test::TempDir dir_;
};

TEST_F(MalformedSafetensors, FileShorterThanTheLengthField) {
  EXPECT_THAT(error_for(std::vector<std::byte>(5)), HasSubstr("5 bytes, too short"));
  EXPECT_THAT(error_for(std::vector<std::byte>{}), HasSubstr("0 bytes, too short"));
}

TEST_F(MalformedSafetensors, HeaderTooLarge) {
  EXPECT_THAT(error_for(raw_file("{}", 0, 100'000'001)), HasSubstr("HeaderTooLarge"));
  EXPECT_THAT(error_for(raw_file("{}", 0, ~uint64_t{0})), HasSubstr("HeaderTooLarge"));
}

TEST_F(MalformedSafetensors, HeaderRunsPastTheEndOfTheFile) {
  EXPECT_THAT(error_for(raw_file("{}", 0, 100)), HasSubstr("runs past the end of the file (8 + 100 > 10 bytes)"));
}

TEST_F(MalformedSafetensors, HeaderNotUtf8) {
  EXPECT_THAT(error_for("{\"fc.weight\xff\":{}}"), HasSubstr("not valid UTF-8 (bad byte at header offset 11)"));
  EXPECT_THAT(error_for("{\"\xc0\xaf\":{}}"), HasSubstr("not valid UTF-8"));      // overlong '/'
  EXPECT_THAT(error_for("{\"\xed\xa0\x80\":{}}"), HasSubstr("not valid UTF-8"));  // surrogate
}

TEST_F(MalformedSafetensors, HeaderNotStartingWithABrace) {
  EXPECT_THAT(error_for(" {}"), HasSubstr("does not start with '{'"));
  EXPECT_THAT(error_for("[]"), HasSubstr("does not start with '{'"));
  EXPECT_THAT(error_for(""), HasSubstr("does not start with '{'"));
}

TEST_F(MalformedSafetensors, HeaderNotJson) {
  EXPECT_THAT(error_for(R"({"fc.weight":)"), HasSubstr("header is not valid JSON"));
  // nlohmann would stop at a NUL as if the input ended there.
  EXPECT_THAT(error_for(std::string("{}\0\0", 4)), HasSubstr("NUL byte at header offset 2"));
  EXPECT_THAT(error_for(std::string("{\"a\0\":{}}", 9)), HasSubstr("NUL byte at header offset 3"));
  EXPECT_THAT(error_for("{} /* comment */"), HasSubstr("header is not valid JSON"));
}

TEST_F(MalformedSafetensors, HeaderNestedTooDeeply) {
  const std::string deep = R"({"fc.weight":)" + std::string(10'000, '[') + std::string(10'000, ']') + "}";
  EXPECT_THAT(error_for(deep), HasSubstr("deeper than"));
}

TEST_F(MalformedSafetensors, DuplicateTensorName) {
  const std::string entry = R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  const std::string message = error_for(R"({"fc.weight":)" + entry + R"(,"fc.weight":)" + entry + "}", 1);
  EXPECT_THAT(message, HasSubstr("tensor 'fc.weight'"));
  EXPECT_THAT(message, HasSubstr("duplicate key"));
}

TEST_F(MalformedSafetensors, DuplicateFieldInAnEntry) {
  const std::string message = entry_error(R"({"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]})", 1);
  EXPECT_THAT(message, HasSubstr("tensor 'fc.weight': field 'dtype' appears twice"));
}

TEST_F(MalformedSafetensors, DuplicateMetadataKey) {
  EXPECT_THAT(error_for(R"({"__metadata__":{"k":"a","k":"b"}})"), HasSubstr("'__metadata__' has key 'k' twice"));
  EXPECT_THAT(error_for(R"({"__metadata__":{},"__metadata__":{}})"), HasSubstr("two '__metadata__' entries"));
}

TEST_F(MalformedSafetensors, EntryNotAnObject) {
  EXPECT_THAT(entry_error(R"("F32")"), HasSubstr("tensor 'fc.weight': entry must be an object"));
  EXPECT_THAT(entry_error("[0,16]"), HasSubstr("tensor 'fc.weight': entry must be an object"));
}

TEST_F(MalformedSafetensors, MissingField) {
  EXPECT_THAT(entry_error(R"({"shape":[4],"data_offsets":[0,16]})"),
              HasSubstr("tensor 'fc.weight': missing field 'dtype'"));
  EXPECT_THAT(entry_error(R"({"dtype":"F32","data_offsets":[0,16]})"),
              HasSubstr("tensor 'fc.weight': missing field 'shape'"));
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[4]})"),
              HasSubstr("tensor 'fc.weight': missing field 'data_offsets'"));
}

TEST_F(MalformedSafetensors, FieldOfTheWrongType) {
  EXPECT_THAT(entry_error(R"({"dtype":4,"shape":[4],"data_offsets":[0,16]})"),
              HasSubstr("tensor 'fc.weight': 'dtype' must be a string"));
  for (const char* shape : {R"("4")", "[-4]", "[4.0]", "[[4]]", "[true]", "null", "[18446744073709551615]"}) {
    EXPECT_THAT(entry_error(std::string(R"({"dtype":"F32","shape":)") + shape + R"(,"data_offsets":[0,16]})"),
                HasSubstr("tensor 'fc.weight': 'shape' must be an array of non-negative integers"))
        << shape;
  }
  for (const char* offsets : {"[0]", "[0,16,16]", "[-1,15]", "[0,16.0]", R"("0,16")", "[0,18446744073709551616]"}) {
    EXPECT_THAT(entry_error(std::string(R"({"dtype":"F32","shape":[4],"data_offsets":)") + offsets + "}"),
                HasSubstr("tensor 'fc.weight': 'data_offsets' must be an array of two unsigned integers"))
        << offsets;
  }
}

TEST_F(MalformedSafetensors, UnknownDType) {
  const std::string message = entry_error(R"({"dtype":"F64","shape":[2],"data_offsets":[0,16]})");
  EXPECT_THAT(message, HasSubstr("tensor 'fc.weight': unknown dtype 'F64' (supported: F32, F16, BF16"));
  EXPECT_THAT(message, HasSubstr("F8_E4M3FNUZ"));
  EXPECT_THAT(entry_error(R"({"dtype":"f32","shape":[4],"data_offsets":[0,16]})"), HasSubstr("unknown dtype 'f32'"));
}

TEST_F(MalformedSafetensors, BeginAfterEnd) {
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[4],"data_offsets":[16,0]})"),
              HasSubstr("tensor 'fc.weight': data_offsets [16, 0] begin after they end"));
}

TEST_F(MalformedSafetensors, EndPastTheDataBuffer) {
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})", 12),
              HasSubstr("tensor 'fc.weight': data_offsets [0, 16] end past the data buffer, which holds 12 bytes"));
  EXPECT_THAT(entry_error(R"({"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]})"),
              HasSubstr("end past the data buffer"));
}

TEST_F(MalformedSafetensors, SizeDisagreesWithShapeAndDType) {
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,12]})", 12),
              HasSubstr("bad.safetensors: tensor 'fc.weight': data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16"));
  EXPECT_THAT(entry_error(R"({"dtype":"F16","shape":[],"data_offsets":[0,0]})", 0),
              HasSubstr("hold 0 bytes but F16 [] needs 2"));
}

TEST_F(MalformedSafetensors, ShapeWhoseSizeOverflows) {
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]})"),
              HasSubstr("tensor 'fc.weight': F32 [1099511627776, 1099511627776] is too large"));
  // 2^62 elements fit in int64_t but their bytes do not fit in 64 bits.
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]})"),
              HasSubstr("is too large"));
  // A zero extent does not excuse an element count that overflows on the way to it.
  EXPECT_THAT(entry_error(R"({"dtype":"U8","shape":[4611686018427387904,4,0],"data_offsets":[0,0]})", 0),
              HasSubstr("is too large"));
}

TEST_F(MalformedSafetensors, OverlappingRanges) {
  const std::string message = error_for(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                        R"("fc.weight":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                        12);
  EXPECT_THAT(message, HasSubstr("tensor 'fc.weight': data_offsets [4, 12] overlap tensor 'a' at [0, 8]"));
  // An empty tensor inside another tensor's range counts as overlapping, as for the reference reader.
  EXPECT_THAT(error_for(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("fc.weight":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                        8),
              HasSubstr("tensor 'fc.weight': data_offsets [4, 4] overlap tensor 'a'"));
}

TEST_F(MalformedSafetensors, HoleBetweenRanges) {
  EXPECT_THAT(error_for(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("fc.weight":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                        16),
              HasSubstr("tensor 'fc.weight': data_offsets [12, 16] leave a hole of 4 unused bytes after tensor 'a'"));
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[3],"data_offsets":[4,16]})"),
              HasSubstr("tensor 'fc.weight': data_offsets [4, 16] leave 4 unused bytes at the start"));
}

TEST_F(MalformedSafetensors, TrailingBytesAfterTheLastTensor) {
  EXPECT_THAT(entry_error(R"({"dtype":"F32","shape":[3],"data_offsets":[0,12]})", 16),
              HasSubstr("the data buffer holds 16 bytes but the tensors cover only 12: 4 trailing bytes"));
  EXPECT_THAT(error_for("{}", 3), HasSubstr("3 trailing bytes"));
}

TEST_F(MalformedSafetensors, MetadataNotAStringMap) {
  EXPECT_THAT(error_for(R"({"__metadata__":["a"]})"), HasSubstr("'__metadata__' must be an object mapping strings"));
  EXPECT_THAT(error_for(R"({"__metadata__":null})"), HasSubstr("'__metadata__' must be an object mapping strings"));
  EXPECT_THAT(error_for(R"({"__metadata__":{"group_size":128}})"),
              HasSubstr("'__metadata__' value of 'group_size' must be a string, got 128"));
  EXPECT_THAT(error_for(R"({"__metadata__":{"nested":{"a":"b"}}})"), HasSubstr("value of 'nested' must be a string"));
}

}  // namespace
}  // namespace pq
