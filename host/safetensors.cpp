#include "host/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <limits>
#include <optional>
#include <set>
#include <unordered_set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "host/atomic_file.h"
#include "host/mapped_file_guard.h"
#include "host/printable.h"
#include "host/regular_file.h"
#include "host/tokenizer/utf8.h"

namespace pq {

// safetensors stores little-endian bytes and we hand them out without swapping.
static_assert(std::endian::native == std::endian::little, "portaquant's safetensors I/O assumes a little-endian host");

namespace {

using json = nlohmann::json;

constexpr size_t kLengthFieldBytes = 8;
constexpr size_t kMaxJsonNesting = 64;    // a valid header nests 3 deep; this bounds hostile input
constexpr size_t kMaxQuotedValueChars = 120;  // JSON shown in messages is cut here

// ---------------------------------------------------------------- storage

// Registered with the SIGBUS guard: a file truncated while mapped is an error, not a crash.
class MappedFile final : public Storage {
 public:
  MappedFile(void* address, size_t size, const std::filesystem::path& path)
      : address_(address), size_(size), guard_(address, size, path) {}
  ~MappedFile() override { ::munmap(address_, size_); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::byte* data() override { return static_cast<std::byte*>(address_); }
  size_t size() const override { return size_; }

 private:
  void* address_;
  size_t size_;
  MappedRange guard_;
};

class ByteVectorStorage final : public Storage {
 public:
  explicit ByteVectorStorage(std::vector<std::byte> bytes) : bytes_(std::move(bytes)) {}
  std::byte* data() override { return bytes_.data(); }
  size_t size() const override { return bytes_.size(); }

 private:
  std::vector<std::byte> bytes_;
};

std::system_error io_error(const std::string& what, const std::filesystem::path& path) {
  return std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// ---------------------------------------------------------------- messages

std::string single_quoted(std::string_view text) { return quote(text); }

std::string offsets_to_string(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::string describe_json(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxQuotedValueChars) text = text.substr(0, kMaxQuotedValueChars) + "...";
  return text;
}

std::string supported_dtype_names() {
  std::string names;
  for (DType dtype : kAllDTypes) names += (names.empty() ? "" : ", ") + std::string(safetensors_dtype_name(dtype));
  return names;
}

// Errors about one file, each message prefixed with the file's label.
class HeaderErrors {
 public:
  explicit HeaderErrors(const std::string& label) : label_(label) {}

  [[noreturn]] void fail(const std::string& message) const { throw FormatError(label_ + ": " + message); }
  [[noreturn]] void fail(std::string_view tensor, const std::string& message) const {
    fail("tensor " + single_quoted(tensor) + ": " + message);
  }

 private:
  const std::string& label_;
};

// ---------------------------------------------------------------- header text

uint64_t read_le_u64(const std::byte* bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return value;
}

std::array<std::byte, 8> le_u64_bytes(uint64_t value) {
  std::array<std::byte, 8> bytes{};
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>(value >> (8 * i));
  return bytes;
}

// Also refuses NUL, which valid JSON never holds raw and at which nlohmann stops parsing as if
// the input had ended (so "{}\0garbage" would pass).
void check_utf8_without_nul(std::string_view header, const HeaderErrors& errors) {
  for (size_t i = 0; i < header.size();) {
    if (header[i] == '\0') errors.fail("header contains a NUL byte at header offset " + std::to_string(i));
    const size_t length = tok::utf8::valid_sequence_length(header, i);
    if (length == 0) errors.fail("header is not valid UTF-8 (bad byte at header offset " + std::to_string(i) + ")");
    i += length;
  }
}

// nlohmann keeps the last of duplicate keys without a word; a header with two entries for one
// name is ambiguous, so a first SAX pass rejects it, and bounds the nesting depth before the
// DOM parser runs. (nlohmann's callback parser would do both in one pass, but it rescans the
// parent object after every child object: quadratic in the number of tensors.)
class HeaderScan final : public json::json_sax_t {
 public:
  explicit HeaderScan(const HeaderErrors& errors) : errors_(errors) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(json::number_integer_t) override { return true; }
  bool number_unsigned(json::number_unsigned_t) override { return true; }
  bool number_float(json::number_float_t, const json::string_t&) override { return true; }
  bool string(json::string_t&) override { return true; }
  bool binary(json::binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(true); }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(false); }
  bool end_array() override { return leave(); }
  bool key(json::string_t& key) override {
    Frame& frame = frames_.back();
    if (!frame.keys.insert(key).second) report_duplicate(key);
    if (frames_.size() == 1) top_level_key_ = key;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) override {
    errors_.fail(std::string("header is not valid JSON: ") + printable(error.what()));
  }

 private:
  struct Frame {
    bool is_object;
    std::unordered_set<std::string> keys;
  };

  bool enter(bool is_object) {
    if (frames_.size() >= kMaxJsonNesting) {
      errors_.fail("header nests JSON deeper than " + std::to_string(kMaxJsonNesting) + " levels");
    }
    frames_.push_back(Frame{is_object, {}});
    return true;
  }

  bool leave() {
    frames_.pop_back();
    return true;
  }

  [[noreturn]] void report_duplicate(const std::string& key) const {
    if (frames_.size() == 1) {
      if (key == "__metadata__") errors_.fail("header has two '__metadata__' entries");
      errors_.fail(key, "the header has two entries for this name (duplicate key)");
    }
    if (top_level_key_ == "__metadata__") errors_.fail("'__metadata__' has key " + single_quoted(key) + " twice");
    errors_.fail(top_level_key_, "field " + single_quoted(key) + " appears twice (duplicate key)");
  }

  const HeaderErrors& errors_;
  std::vector<Frame> frames_;
  std::string top_level_key_;
};

json parse_header_json(std::string_view header, const HeaderErrors& errors) {
  HeaderScan scan(errors);
  json::sax_parse(header.begin(), header.end(), &scan, json::input_format_t::json, /*strict=*/true, /*ignore_comments=*/false);
  try {
    return json::parse(header.begin(), header.end());
  } catch (const json::exception& error) {
    errors.fail(std::string("header is not valid JSON: ") + printable(error.what()));
  }
}

// ---------------------------------------------------------------- header entries

const json& required_field(const json& entry, const char* field, std::string_view tensor, const HeaderErrors& errors) {
  const auto it = entry.find(field);
  if (it == entry.end()) errors.fail(tensor, std::string("missing field '") + field + "'");
  return *it;
}

DType parse_dtype(const json& value, std::string_view tensor, const HeaderErrors& errors) {
  if (!value.is_string()) errors.fail(tensor, "'dtype' must be a string, got " + describe_json(value));
  const auto& name = value.get_ref<const std::string&>();
  const std::optional<DType> dtype = dtype_from_safetensors_name(name);
  if (!dtype) errors.fail(tensor, "unknown dtype " + single_quoted(name) + " (supported: " + supported_dtype_names() + ")");
  return *dtype;
}

Shape parse_shape(const json& value, std::string_view tensor, const HeaderErrors& errors) {
  const auto fail = [&] {
    errors.fail(tensor, "'shape' must be an array of non-negative integers, got " + describe_json(value));
  };
  if (!value.is_array()) fail();
  Shape shape;
  shape.reserve(value.size());
  for (const json& dim : value) {
    if (!dim.is_number_unsigned()) fail();
    const auto extent = dim.get<uint64_t>();
    if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail();
    shape.push_back(static_cast<int64_t>(extent));
  }
  return shape;
}

std::pair<uint64_t, uint64_t> parse_offsets(const json& value, std::string_view tensor, const HeaderErrors& errors) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() || !value[1].is_number_unsigned()) {
    errors.fail(tensor, "'data_offsets' must be an array of two unsigned integers, got " + describe_json(value));
  }
  return {value[0].get<uint64_t>(), value[1].get<uint64_t>()};
}

// Bytes a tensor of this shape needs, or nullopt when that does not fit in 64 bits. The
// product of the non-zero extents must also fit in int64_t: Tensor computes strides and
// element counts from prefixes and suffixes of the shape in signed arithmetic.
std::optional<uint64_t> checked_byte_size(const Shape& shape, DType dtype) {
  int64_t nonzero_product = 1;
  bool has_zero_extent = false;
  for (int64_t extent : shape) {
    if (extent == 0) {
      has_zero_extent = true;
    } else if (__builtin_mul_overflow(nonzero_product, extent, &nonzero_product)) {
      return std::nullopt;
    }
  }
  if (has_zero_extent) return 0;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(nonzero_product), dtype_size(dtype), &bytes)) return std::nullopt;
  return bytes;
}

TensorInfo parse_entry(const std::string& name, const json& entry, uint64_t buffer_bytes, const HeaderErrors& errors) {
  if (!entry.is_object()) {
    errors.fail(name, "entry must be an object with 'dtype', 'shape' and 'data_offsets', got " + describe_json(entry));
  }
  // Unknown extra fields are ignored, as the reference reader does.
  TensorInfo info{name, parse_dtype(required_field(entry, "dtype", name, errors), name, errors),
                  parse_shape(required_field(entry, "shape", name, errors), name, errors), 0, 0};
  std::tie(info.begin, info.end) = parse_offsets(required_field(entry, "data_offsets", name, errors), name, errors);
  const std::string offsets = "data_offsets " + offsets_to_string(info.begin, info.end);
  if (info.begin > info.end) errors.fail(name, offsets + " begin after they end");
  if (info.end > buffer_bytes) {
    errors.fail(name, offsets + " end past the data buffer, which holds " + std::to_string(buffer_bytes) + " bytes");
  }
  const std::string type = std::string(safetensors_dtype_name(info.dtype)) + " " + shape_to_string(info.shape);
  const std::optional<uint64_t> needed = checked_byte_size(info.shape, info.dtype);
  if (!needed) errors.fail(name, type + " is too large: its size in bytes overflows 64 bits");
  const uint64_t held = info.end - info.begin;
  if (held != *needed) {
    errors.fail(name, offsets + " hold " + std::to_string(held) + " bytes but " + type + " needs " +
                          std::to_string(*needed));
  }
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& value, const HeaderErrors& errors) {
  if (!value.is_object()) {
    errors.fail("'__metadata__' must be an object mapping strings to strings, got " + describe_json(value));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, entry] : value.items()) {
    if (!entry.is_string()) {
      errors.fail("'__metadata__' value of " + single_quoted(key) + " must be a string, got " + describe_json(entry));
    }
    metadata.emplace(key, entry.get<std::string>());
  }
  return metadata;
}

// `tensors` sorted by offsets must tile the data buffer exactly: from 0, no overlap, no
// hole, nothing after the last one.
void check_tensors_tile_buffer(const std::vector<TensorInfo>& tensors, uint64_t buffer_bytes,
                               const HeaderErrors& errors) {
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& tensor : tensors) {
    const std::string offsets = "data_offsets " + offsets_to_string(tensor.begin, tensor.end);
    if (tensor.begin < covered) {
      errors.fail(tensor.name, offsets + " overlap tensor " + single_quoted(previous->name) + " at " +
                                   offsets_to_string(previous->begin, previous->end));
    }
    if (tensor.begin > covered) {
      const std::string gap = std::to_string(tensor.begin - covered) + " unused bytes";
      if (previous == nullptr) errors.fail(tensor.name, offsets + " leave " + gap + " at the start of the data buffer");
      errors.fail(tensor.name, offsets + " leave a hole of " + gap + " after tensor " + single_quoted(previous->name) +
                                   " at " + offsets_to_string(previous->begin, previous->end));
    }
    covered = tensor.end;
    previous = &tensor;
  }
  if (covered != buffer_bytes) {
    errors.fail("the data buffer holds " + std::to_string(buffer_bytes) + " bytes but the tensors cover only " +
                std::to_string(covered) + ": " + std::to_string(buffer_bytes - covered) + " trailing bytes");
  }
}

// ---------------------------------------------------------------- writer

// The reference writer orders tensors by its Dtype enum (declared in increasing alignment
// order), descending. These are our dtypes' positions in that enum, so that the same tensors
// give byte-identical files from both writers.
int reference_writer_rank(DType dtype) {
  switch (dtype) {
    case DType::Bool: return 0;
    case DType::U8: return 4;
    case DType::I8: return 5;
    case DType::F8_E5M2: return 6;
    case DType::F8_E4M3FN: return 7;
    case DType::F8_E4M3FNUZ: return 9;
    case DType::I16: return 11;
    case DType::F16: return 13;
    case DType::BF16: return 14;
    case DType::I32: return 15;
    case DType::F32: return 17;
    case DType::I64: return 20;
  }
  throw std::logic_error("unknown dtype");
}

std::string json_string(const std::string& text, const std::string& what) {
  try {
    return json(text).dump();
  } catch (const json::exception&) {
    throw std::invalid_argument(what + " is not valid UTF-8");
  }
}

struct PlannedTensor {
  const std::string* name;
  const Tensor* tensor;
  uint64_t begin;
  uint64_t end;
};

struct FileLayout {
  std::string header;  // padded JSON
  std::vector<PlannedTensor> tensors;  // in file order
  uint64_t data_bytes = 0;
};

void check_writable(const NamedTensors& tensors) {
  std::set<std::string_view> names;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw std::invalid_argument("tensor name '__metadata__' is reserved by safetensors");
    if (!names.insert(name).second) throw std::invalid_argument("tensor name " + single_quoted(name) + " appears twice");
    if (!tensor.defined()) throw std::invalid_argument("tensor " + single_quoted(name) + " is undefined");
  }
}

std::string metadata_json(const std::map<std::string, std::string>& metadata) {
  std::string text = "{";
  for (const auto& [key, value] : metadata) {
    if (text.size() > 1) text += ",";
    text += json_string(key, "metadata key " + single_quoted(key)) + ":" +
            json_string(value, "metadata value of " + single_quoted(key));
  }
  return text + "}";
}

std::string entry_json(const PlannedTensor& planned) {
  std::string shape;
  for (int64_t extent : planned.tensor->shape()) shape += (shape.empty() ? "" : ",") + std::to_string(extent);
  return json_string(*planned.name, "tensor name " + single_quoted(*planned.name)) + ":{\"dtype\":\"" +
         std::string(safetensors_dtype_name(planned.tensor->dtype())) + "\",\"shape\":[" + shape +
         "],\"data_offsets\":[" + std::to_string(planned.begin) + "," + std::to_string(planned.end) + "]}";
}

FileLayout plan_file(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  check_writable(tensors);
  FileLayout layout;
  for (const auto& [name, tensor] : tensors) layout.tensors.push_back({&name, &tensor, 0, 0});
  std::sort(layout.tensors.begin(), layout.tensors.end(), [](const PlannedTensor& a, const PlannedTensor& b) {
    const int rank_a = reference_writer_rank(a.tensor->dtype());
    const int rank_b = reference_writer_rank(b.tensor->dtype());
    return rank_a != rank_b ? rank_a > rank_b : *a.name < *b.name;
  });
  std::string& header = layout.header;
  header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + metadata_json(metadata);
  for (PlannedTensor& planned : layout.tensors) {
    planned.begin = layout.data_bytes;
    planned.end = planned.begin + planned.tensor->nbytes();
    layout.data_bytes = planned.end;
    if (header.size() > 1) header += ",";
    header += entry_json(planned);
  }
  header += "}";
  // Padding to 8 puts the data buffer, and so every tensor, at its element size's alignment.
  header.resize((header.size() + kLengthFieldBytes - 1) / kLengthFieldBytes * kLengthFieldBytes, ' ');
  return layout;
}

}  // namespace

// ---------------------------------------------------------------- reader

SafetensorsFile::SafetensorsFile(std::shared_ptr<Storage> bytes, std::filesystem::path path, std::string label)
    : bytes_(std::move(bytes)), path_(std::move(path)), label_(std::move(label)) {
  parse_header();
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const FileHandle fd = open_regular_file(path);
  const size_t size = file_size(fd, path);
  if (size < kLengthFieldBytes) {
    throw FormatError(path.string() + ": file is " + std::to_string(size) +
                      " bytes, too short for the 8-byte header length");
  }
  // Private and writable: callers may modify loaded tensors in place; the file never changes.
  void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
  if (address == MAP_FAILED) throw io_error("cannot map", path);
  return SafetensorsFile(std::make_shared<MappedFile>(address, size, path), path, path.string());
}

SafetensorsFile SafetensorsFile::from_buffer(std::vector<std::byte> bytes, std::string label) {
  return SafetensorsFile(std::make_shared<ByteVectorStorage>(std::move(bytes)), {}, std::move(label));
}

void SafetensorsFile::parse_header() {
  const HeaderErrors errors(label_);
  const size_t file_bytes = bytes_->size();
  if (file_bytes < kLengthFieldBytes) {
    errors.fail("file is " + std::to_string(file_bytes) + " bytes, too short for the 8-byte header length");
  }
  const std::byte* file = bytes_->data();
  const uint64_t header_bytes = read_le_u64(file);
  if (header_bytes > kSafetensorsMaxHeaderBytes) {
    errors.fail("header length " + std::to_string(header_bytes) + " exceeds the limit of " +
                std::to_string(kSafetensorsMaxHeaderBytes) + " bytes (HeaderTooLarge)");
  }
  if (header_bytes > file_bytes - kLengthFieldBytes) {
    errors.fail("header length " + std::to_string(header_bytes) + " runs past the end of the file (8 + " +
                std::to_string(header_bytes) + " > " + std::to_string(file_bytes) + " bytes)");
  }
  data_start_ = kLengthFieldBytes + header_bytes;
  const std::string_view header(reinterpret_cast<const char*>(file + kLengthFieldBytes), header_bytes);
  check_utf8_without_nul(header, errors);
  if (header.empty() || header.front() != '{') errors.fail("header does not start with '{'");
  const json root = parse_header_json(header, errors);
  if (!root.is_object()) errors.fail("header is a JSON " + std::string(root.type_name()) + ", not an object");

  const uint64_t buffer_bytes = file_bytes - data_start_;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      metadata_ = parse_metadata(value, errors);
    } else {
      tensors_.push_back(parse_entry(key, value, buffer_bytes, errors));
    }
  }
  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  check_tensors_tile_buffer(tensors_, buffer_bytes, errors);
  for (size_t i = 0; i < tensors_.size(); ++i) index_by_name_.emplace(tensors_[i].name, i);
}

bool SafetensorsFile::contains(std::string_view name) const { return index_by_name_.contains(name); }

const TensorInfo& SafetensorsFile::info(std::string_view name) const {
  const auto it = index_by_name_.find(name);
  if (it == index_by_name_.end()) throw std::out_of_range(label_ + ": no tensor named " + single_quoted(name));
  return tensors_[it->second];
}

Tensor SafetensorsFile::load(std::string_view name) const {
  const TensorInfo& tensor = info(name);
  const size_t offset = data_start_ + tensor.begin;
  const std::byte* address = bytes_->data() + offset;
  if (reinterpret_cast<uintptr_t>(address) % dtype_size(tensor.dtype) != 0) {
    return Tensor::from_bytes(tensor.dtype, tensor.shape, {address, tensor.end - tensor.begin});
  }
  return Tensor::from_storage(bytes_, offset, tensor.dtype, tensor.shape);
}

// ---------------------------------------------------------------- writer

std::vector<std::byte> serialize_safetensors(const NamedTensors& tensors,
                                             const std::map<std::string, std::string>& metadata) {
  const FileLayout layout = plan_file(tensors, metadata);
  std::vector<std::byte> bytes;
  bytes.reserve(kLengthFieldBytes + layout.header.size() + layout.data_bytes);
  const auto length = le_u64_bytes(layout.header.size());
  bytes.insert(bytes.end(), length.begin(), length.end());
  const auto header = std::as_bytes(std::span<const char>(layout.header));
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (const PlannedTensor& planned : layout.tensors) {
    const Tensor contiguous = planned.tensor->contiguous();
    const auto data = contiguous.bytes();
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  return bytes;
}

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata, const TensorWritten& on_tensor) {
  const FileLayout layout = plan_file(tensors, metadata);
  AtomicFileWriter writer(path);
  writer.write(le_u64_bytes(layout.header.size()));
  writer.write(layout.header);
  for (const PlannedTensor& planned : layout.tensors) {
    const Tensor contiguous = planned.tensor->contiguous();  // one tensor copied at a time, if any
    writer.write(contiguous.bytes());
    if (on_tensor) on_tensor(contiguous.nbytes());
  }
  writer.commit();
}

}  // namespace pq
