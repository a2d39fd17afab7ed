#include "host/gguf/gguf_file.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <system_error>

#include "host/regular_file.h"

namespace pq::gguf {

static_assert(std::endian::native == std::endian::little, "portaquant's GGUF reader assumes a little-endian host");

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kOldestVersion = 2;   // v1 counted in 32 bits and is gone from the wild
constexpr uint32_t kNewestVersion = 3;
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;      // empty-key length, type, one byte of value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset
constexpr std::string_view kAlignmentKey = "general.alignment";

std::string single_quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// Valid UTF-8 without overlong forms, surrogates or code points past U+10FFFF.
bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    constexpr uint32_t kSmallestOfLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kSmallestOfLength[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Size in the file of one value of a fixed-width type, 0 for String/Array.
uint64_t fixed_width(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::Bool: return 1;
    case GgufValueType::U16:
    case GgufValueType::I16: return 2;
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::F32: return 4;
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::F64: return 8;
    case GgufValueType::String:
    case GgufValueType::Array: return 0;
  }
  return 0;
}

bool is_known_value_type(uint32_t id) { return id <= static_cast<uint32_t>(GgufValueType::F64); }

// Bounds-checked little-endian reads; every failure names what was being read.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& label) : bytes_(bytes), label_(label) {}

  uint64_t position() const { return position_; }
  uint64_t remaining() const { return bytes_.size() - position_; }

  template <class T>
  T read(const std::string& what) {
    require(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }

  std::string read_string(const std::string& what) {
    const uint64_t length = read<uint64_t>(what + " (its length)");
    if (length > remaining()) {
      fail(what + ": a string of " + std::to_string(length) + " bytes at byte offset " + std::to_string(position_) +
           " runs past the end of the file (" + std::to_string(remaining()) + " bytes left)");
    }
    std::string text(reinterpret_cast<const char*>(bytes_.data() + position_), length);
    position_ += length;
    if (!is_valid_utf8(text)) fail(what + ": string is not valid UTF-8");
    return text;
  }

  [[noreturn]] void fail(const std::string& message) const { throw FormatError(label_ + ": " + message); }

 private:
  void require(uint64_t count, const std::string& what) const {
    if (count > remaining()) {
      fail(what + ": the file ends at byte " + std::to_string(bytes_.size()) + ", before the " +
           std::to_string(count) + " bytes at offset " + std::to_string(position_));
    }
  }

  std::span<const std::byte> bytes_;
  const std::string& label_;
  uint64_t position_ = 0;
};

void read_element(Cursor& cursor, GgufValue& value, const std::string& what) {
  switch (value.type) {
    case GgufValueType::U8: value.uints.push_back(cursor.read<uint8_t>(what)); break;
    case GgufValueType::U16: value.uints.push_back(cursor.read<uint16_t>(what)); break;
    case GgufValueType::U32: value.uints.push_back(cursor.read<uint32_t>(what)); break;
    case GgufValueType::U64: value.uints.push_back(cursor.read<uint64_t>(what)); break;
    case GgufValueType::I8: value.ints.push_back(cursor.read<int8_t>(what)); break;
    case GgufValueType::I16: value.ints.push_back(cursor.read<int16_t>(what)); break;
    case GgufValueType::I32: value.ints.push_back(cursor.read<int32_t>(what)); break;
    case GgufValueType::I64: value.ints.push_back(cursor.read<int64_t>(what)); break;
    case GgufValueType::F32: value.floats.push_back(cursor.read<float>(what)); break;
    case GgufValueType::F64: value.floats.push_back(cursor.read<double>(what)); break;
    case GgufValueType::Bool: {
      const uint8_t byte = cursor.read<uint8_t>(what);
      if (byte > 1) cursor.fail(what + ": a bool must be 0 or 1, got " + std::to_string(byte));
      value.uints.push_back(byte);
      break;
    }
    case GgufValueType::String: value.strings.push_back(cursor.read_string(what)); break;
    case GgufValueType::Array: cursor.fail(what + ": arrays of arrays are not supported (ggml refuses them too)");
  }
}

GgufValueType read_value_type(Cursor& cursor, const std::string& what) {
  const uint32_t id = cursor.read<uint32_t>(what + " (its type)");
  if (!is_known_value_type(id)) cursor.fail(what + ": unknown value type " + std::to_string(id));
  return static_cast<GgufValueType>(id);
}

void reserve_elements(GgufValue& value, uint64_t count) {
  switch (value.type) {
    case GgufValueType::String: value.strings.reserve(count); break;
    case GgufValueType::F32:
    case GgufValueType::F64: value.floats.reserve(count); break;
    case GgufValueType::I8:
    case GgufValueType::I16:
    case GgufValueType::I32:
    case GgufValueType::I64: value.ints.reserve(count); break;
    default: value.uints.reserve(count); break;
  }
}

GgufValue read_value(Cursor& cursor, const std::string& what) {
  GgufValue value;
  value.type = read_value_type(cursor, what);
  if (value.type != GgufValueType::Array) {
    read_element(cursor, value, what);
    return value;
  }
  value.is_array = true;
  value.type = read_value_type(cursor, what + " (its element type)");
  if (value.type == GgufValueType::Array) cursor.fail(what + ": arrays of arrays are not supported (ggml refuses them too)");
  const uint64_t count = cursor.read<uint64_t>(what + " (its length)");
  // Each element takes at least this many bytes, so the count is bounded by the file itself.
  const uint64_t min_bytes = value.type == GgufValueType::String ? 8 : fixed_width(value.type);
  if (count > cursor.remaining() / min_bytes) {
    cursor.fail(what + ": an array of " + std::to_string(count) + " " + gguf_value_type_name(value.type) +
                " values cannot fit in the " + std::to_string(cursor.remaining()) + " bytes left in the file");
  }
  reserve_elements(value, count);
  for (uint64_t i = 0; i < count; ++i) read_element(cursor, value, what + " element " + std::to_string(i));
  return value;
}

uint64_t checked_product(const std::vector<uint64_t>& dims, bool& overflow) {
  uint64_t product = 1;
  overflow = false;
  for (uint64_t dim : dims) {
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    if (__builtin_mul_overflow(product, dim, &product)) overflow = true;
  }
  if (product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
  return product;
}

std::string dims_to_string(const std::vector<uint64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

}  // namespace

std::string gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::Bool: return "bool";
    case GgufValueType::String: return "string";
    case GgufValueType::Array: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "type " + std::to_string(static_cast<uint32_t>(type));
}

size_t GgufValue::size() const { return uints.size() + ints.size() + floats.size() + strings.size(); }

std::string GgufValue::describe_type() const {
  return is_array ? "array of " + gguf_value_type_name(type) : gguf_value_type_name(type);
}

// ---------------------------------------------------------------- opening

GgufFile::GgufFile(std::shared_ptr<Storage> bytes, std::string label) : bytes_(std::move(bytes)), label_(std::move(label)) {}

GgufFile GgufFile::open(const std::filesystem::path& path) {
  // A FIFO or a device in place of the file is refused, not read (or waited on) for ever.
  const FileHandle file = open_regular_file(path);
  const size_t size = pq::file_size(file, path);
  std::shared_ptr<Storage> bytes = make_owned_storage(size);
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::read(file.get(), bytes->data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "cannot read " + path.string());
    done += static_cast<size_t>(n);
  }
  GgufFile gguf(std::move(bytes), path.string());
  gguf.parse();
  return gguf;
}

GgufFile GgufFile::from_buffer(std::vector<std::byte> bytes, std::string label) {
  std::shared_ptr<Storage> storage = make_owned_storage(bytes.size());
  if (!bytes.empty()) std::memcpy(storage->data(), bytes.data(), bytes.size());
  GgufFile file(std::move(storage), std::move(label));
  file.parse();
  return file;
}

// ---------------------------------------------------------------- parsing

void GgufFile::parse() {
  const std::span<const std::byte> all(bytes_->data(), bytes_->size());
  Cursor cursor(all, label_);
  if (all.size() < 4 || cursor.read<uint32_t>("magic") != kMagic) cursor.fail("not a GGUF file (it does not start with \"GGUF\")");
  version_ = cursor.read<uint32_t>("version");
  if (version_ < kOldestVersion || version_ > kNewestVersion) {
    const uint32_t swapped = __builtin_bswap32(version_);
    const std::string hint = swapped >= kOldestVersion && swapped <= kNewestVersion
                                 ? " (a big-endian file, which this reader does not read)"
                                 : "";
    cursor.fail("GGUF version " + std::to_string(version_) + " is not supported (versions 2 and 3 are)" + hint);
  }
  const uint64_t tensor_count = cursor.read<uint64_t>("tensor count");
  const uint64_t kv_count = cursor.read<uint64_t>("metadata count");
  if (kv_count > cursor.remaining() / kMinKeyValueBytes) {
    cursor.fail("metadata count " + std::to_string(kv_count) + " cannot fit in the " + std::to_string(cursor.remaining()) +
                " bytes left in the file");
  }
  if (tensor_count > cursor.remaining() / kMinTensorInfoBytes) {
    cursor.fail("tensor count " + std::to_string(tensor_count) + " cannot fit in the " +
                std::to_string(cursor.remaining()) + " bytes left in the file");
  }

  metadata_.reserve(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key = cursor.read_string("metadata key #" + std::to_string(i));
    if (key.empty()) cursor.fail("metadata key #" + std::to_string(i) + " is empty");
    if (metadata_index_.contains(key)) cursor.fail("metadata key " + single_quoted(key) + " appears twice");
    GgufValue value = read_value(cursor, "metadata key " + single_quoted(key));
    metadata_index_.emplace(key, metadata_.size());
    metadata_.emplace_back(std::move(key), std::move(value));
  }
  if (find(kAlignmentKey) != nullptr) {
    const GgufValue& value = *find(kAlignmentKey);
    if (value.is_array || value.type != GgufValueType::U32) fail_key(kAlignmentKey, "must be a u32, got " + value.describe_type());
    alignment_ = value.uints[0];
    if (alignment_ == 0 || !std::has_single_bit(alignment_)) {
      fail_key(kAlignmentKey, "must be a power of two, got " + std::to_string(alignment_));
    }
  }

  tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    const std::string what = "tensor #" + std::to_string(i);
    GgufTensorInfo info;
    info.name = cursor.read_string(what + " name");
    if (info.name.empty()) cursor.fail(what + " has an empty name");
    if (tensor_index_.contains(info.name)) fail_tensor(info.name, "appears twice in the tensor table");
    const uint32_t n_dims = cursor.read<uint32_t>("tensor " + single_quoted(info.name) + " (its dimension count)");
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      fail_tensor(info.name, "has " + std::to_string(n_dims) + " dimensions (1 to " + std::to_string(kGgufMaxDims) + " supported)");
    }
    for (uint32_t d = 0; d < n_dims; ++d) info.dims.push_back(cursor.read<uint64_t>("tensor " + single_quoted(info.name) + " (its dims)"));
    const uint32_t type_id = cursor.read<uint32_t>("tensor " + single_quoted(info.name) + " (its type)");
    info.offset = cursor.read<uint64_t>("tensor " + single_quoted(info.name) + " (its offset)");
    const std::optional<GgmlTypeInfo> type = find_ggml_type(type_id);
    if (!type) fail_tensor(info.name, "unknown ggml type id " + std::to_string(type_id));
    info.type = type->type;

    bool overflow = false;
    const uint64_t numel = checked_product(info.dims, overflow);
    if (overflow) fail_tensor(info.name, "dims " + dims_to_string(info.dims) + " overflow int64");
    if (info.dims[0] % type->block_elements != 0) {
      fail_tensor(info.name, "rows of " + std::to_string(info.dims[0]) + " elements are not a multiple of the " + type->name +
                                 " block size " + std::to_string(type->block_elements));
    }
    if (__builtin_mul_overflow(numel / type->block_elements, uint64_t{type->block_bytes}, &info.nbytes)) {
      fail_tensor(info.name, "dims " + dims_to_string(info.dims) + " need more bytes than a file can hold");
    }
    info.shape.assign(info.dims.rbegin(), info.dims.rend());
    tensor_index_.emplace(info.name, tensors_.size());
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t header_end = cursor.position();
  data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t data_size = data_offset_ <= all.size() ? all.size() - data_offset_ : 0;
  for (const GgufTensorInfo& tensor : tensors_) {
    if (tensor.offset % alignment_ != 0) {
      fail_tensor(tensor.name, "offset " + std::to_string(tensor.offset) + " is not a multiple of the alignment " +
                                   std::to_string(alignment_));
    }
    if (tensor.offset > data_size || tensor.nbytes > data_size - tensor.offset) {
      fail_tensor(tensor.name, "its " + std::to_string(tensor.nbytes) + " bytes at data offset " + std::to_string(tensor.offset) +
                                   " run past the end of the file (the data section holds " + std::to_string(data_size) +
                                   " bytes)");
    }
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& tensor : tensors_) {
    if (tensor.nbytes > 0) by_offset.push_back(&tensor);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& before = *by_offset[i - 1];
    if (before.offset + before.nbytes > by_offset[i]->offset) {
      fail_tensor(by_offset[i]->name, "its bytes overlap those of tensor " + single_quoted(before.name));
    }
  }
}

// ---------------------------------------------------------------- access

void GgufFile::fail_key(std::string_view key, const std::string& message) const {
  throw FormatError(label_ + ": metadata key " + single_quoted(key) + ": " + message);
}

void GgufFile::fail_tensor(std::string_view tensor, const std::string& message) const {
  throw FormatError(label_ + ": tensor " + single_quoted(tensor) + ": " + message);
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_array || value->type == GgufValueType::Bool || value->size() != 1 ||
      !(value->uints.size() == 1 || value->ints.size() == 1)) {
    fail_key(key, "expected an unsigned integer, got " + value->describe_type());
  }
  if (!value->ints.empty()) {
    if (value->ints[0] < 0) fail_key(key, "expected an unsigned integer, got " + std::to_string(value->ints[0]));
    return static_cast<uint64_t>(value->ints[0]);
  }
  return value->uints[0];
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_array || value->type == GgufValueType::Bool || value->strings.size() == 1) {
    fail_key(key, "expected a number, got " + value->describe_type());
  }
  if (!value->floats.empty()) return value->floats[0];
  if (!value->ints.empty()) return static_cast<double>(value->ints[0]);
  return static_cast<double>(value->uints[0]);
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_array || value->type != GgufValueType::Bool) fail_key(key, "expected a bool, got " + value->describe_type());
  return value->uints[0] != 0;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_array || value->type != GgufValueType::String) fail_key(key, "expected a string, got " + value->describe_type());
  return value->strings[0];
}

const std::vector<std::string>* GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_array || value->type != GgufValueType::String) {
    fail_key(key, "expected an array of strings, got " + value->describe_type());
  }
  return &value->strings;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_array || value->type == GgufValueType::Bool || !value->strings.empty() || !value->floats.empty()) {
    fail_key(key, "expected an array of integers, got " + value->describe_type());
  }
  if (!value->ints.empty() || value->uints.empty()) return value->ints;
  std::vector<int64_t> converted;
  converted.reserve(value->uints.size());
  for (uint64_t item : value->uints) {
    if (item > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail_key(key, "integer " + std::to_string(item) + " overflows int64");
    converted.push_back(static_cast<int64_t>(item));
  }
  return converted;
}

std::optional<std::vector<double>> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_array || (value->type != GgufValueType::F32 && value->type != GgufValueType::F64)) {
    fail_key(key, "expected an array of floats, got " + value->describe_type());
  }
  return value->floats;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> GgufFile::tensor_bytes(const GgufTensorInfo& tensor) const {
  return {bytes_->data() + data_offset_ + tensor.offset, tensor.nbytes};
}

}  // namespace pq::gguf
