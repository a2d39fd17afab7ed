// Reading GGUF files (ggml/llama.cpp's model format), versions 2 and 3. Layout: magic "GGUF",
// u32 version, u64 tensor count, u64 metadata count, the metadata key/value pairs, the tensor
// infos (name, dims fastest-moving first, ggml type, offset), padding to `general.alignment`
// (default 32), then the tensors' bytes. Everything is little-endian.
//
// The whole file is validated when it is opened: counts and lengths against the bytes that are
// there (so a small file can never make us allocate much), value types, UTF-8 of every string,
// duplicate keys and tensor names, dims against int64 and against the data, tensor types,
// offsets (in range, aligned, not overlapping). Every error is a pq::FormatError naming the
// file and the key or tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/errors.h"
#include "host/gguf/ggml_type.h"
#include "host/tensor.h"

namespace pq::gguf {

enum class GgufValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

std::string gguf_value_type_name(GgufValueType type);

// One metadata value: a scalar is stored as one element, an array as its elements (arrays of
// arrays are refused, as ggml does). Exactly one vector is used, by `type`.
struct GgufValue {
  GgufValueType type = GgufValueType::U8;  // the element type of an array
  bool is_array = false;
  std::vector<uint64_t> uints;  // U8, U16, U32, U64, Bool (0 or 1)
  std::vector<int64_t> ints;    // I8, I16, I32, I64
  std::vector<double> floats;   // F32 (widened exactly), F64
  std::vector<std::string> strings;
  size_t size() const;
  std::string describe_type() const;  // "u32", "array of string", ...
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // as stored: fastest-moving first (ggml's ne[])
  Shape shape;                 // row-major, slowest first (torch's order: dims reversed)
  GgmlType type;
  uint64_t offset;  // from the start of the data section
  uint64_t nbytes;
  int64_t numel() const { return shape_numel(shape); }
};

// Dims per tensor ggml supports (GGML_MAX_DIMS).
inline constexpr uint32_t kGgufMaxDims = 4;
inline constexpr uint64_t kGgufDefaultAlignment = 32;

class GgufFile {
 public:
  // Reads and validates the file. I/O failures throw std::system_error, a malformed file FormatError.
  static GgufFile open(const std::filesystem::path& path);
  // The same over bytes in memory; `label` stands for the file name in messages.
  static GgufFile from_buffer(std::vector<std::byte> bytes, std::string label);

  const std::string& label() const { return label_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // where the data section starts
  uint64_t file_size() const { return bytes_->size(); }

  // In file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;  // nullptr when absent
  // Typed getters: nullopt when the key is absent, FormatError naming the key when its value
  // has another type (integers of any width and signedness convert when the value fits).
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;  // F32/F64 (and integers)
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const std::vector<std::string>* get_string_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;
  std::optional<std::vector<double>> get_float_array(std::string_view key) const;
  [[noreturn]] void fail_key(std::string_view key, const std::string& message) const;
  [[noreturn]] void fail_tensor(std::string_view tensor, const std::string& message) const;

  // In file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent
  // The tensor's bytes inside the file.
  std::span<const std::byte> tensor_bytes(const GgufTensorInfo& tensor) const;

 private:
  GgufFile(std::shared_ptr<Storage> bytes, std::string label);
  void parse();

  std::shared_ptr<Storage> bytes_;
  std::string label_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t, std::less<>> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace pq::gguf
