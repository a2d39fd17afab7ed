#include "host/tensor.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "host/float_format.h"
#include "host/parallel.h"

namespace pq {
namespace {

class OwnedStorage final : public Storage {
 public:
  explicit OwnedStorage(size_t bytes) : bytes_(new std::byte[bytes == 0 ? 1 : bytes]()), size_(bytes) {}
  std::byte* data() override { return bytes_.get(); }
  size_t size() const override { return size_; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  size_t size_;
};

template <class Int>
Int saturating_cast(float v) {
  if (std::isnan(v)) return 0;
  const double t = std::trunc(static_cast<double>(v));
  if (t <= static_cast<double>(std::numeric_limits<Int>::min())) return std::numeric_limits<Int>::min();
  if (t >= static_cast<double>(std::numeric_limits<Int>::max())) return std::numeric_limits<Int>::max();
  return static_cast<Int>(t);
}

template <class T>
T read_unaligned(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class T>
void write_unaligned(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Integer casts wrap like C++ and torch do (two's complement truncation).
int64_t load_integer(const std::byte* p, DType dtype) {
  switch (dtype) {
    case DType::I8: return read_unaligned<int8_t>(p);
    case DType::U8: return read_unaligned<uint8_t>(p);
    case DType::I16: return read_unaligned<int16_t>(p);
    case DType::I32: return read_unaligned<int32_t>(p);
    case DType::I64: return read_unaligned<int64_t>(p);
    case DType::Bool: return *p != std::byte{0};
    default: throw std::logic_error("load_integer of a float dtype");
  }
}

void store_integer(std::byte* p, DType dtype, int64_t v) {
  switch (dtype) {
    case DType::I8: return write_unaligned(p, static_cast<int8_t>(v));
    case DType::U8: return write_unaligned(p, static_cast<uint8_t>(v));
    case DType::I16: return write_unaligned(p, static_cast<int16_t>(v));
    case DType::I32: return write_unaligned(p, static_cast<int32_t>(v));
    case DType::I64: return write_unaligned(p, v);
    case DType::Bool: *p = std::byte{v != 0}; return;
    default: throw std::logic_error("store_integer of a float dtype");
  }
}

// Whole-tensor conversions hoist the dtype switch out of the element loop: quantizing a large
// weight converts it to float32 and back several times.
// Large tensors convert on all threads; chunks below this stay on the caller's.
constexpr int64_t kConversionGrain = 1 << 16;

template <class Decode>
std::vector<float> decode_all(const std::byte* src, size_t n, size_t element_size, Decode decode) {
  std::vector<float> values(n);
  parallel_for(static_cast<int64_t>(n), kConversionGrain, [&](int64_t begin, int64_t end) {
    for (auto i = static_cast<size_t>(begin); i < static_cast<size_t>(end); ++i) values[i] = decode(src + i * element_size);
  });
  return values;
}

template <class Encode>
void encode_all(const std::vector<float>& values, std::byte* out, size_t element_size, Encode encode) {
  parallel_for(static_cast<int64_t>(values.size()), kConversionGrain, [&](int64_t begin, int64_t end) {
    for (auto i = static_cast<size_t>(begin); i < static_cast<size_t>(end); ++i) encode(out + i * element_size, values[i]);
  });
}

std::vector<float> contiguous_to_floats(const std::byte* src, size_t n, DType dtype) {
  switch (dtype) {
    case DType::F32: {
      std::vector<float> values(n);
      if (n) std::memcpy(values.data(), src, n * sizeof(float));
      return values;
    }
    case DType::F16: return decode_all(src, n, 2, [](const std::byte* p) { return f16_to_f32(read_unaligned<uint16_t>(p)); });
    case DType::BF16: return decode_all(src, n, 2, [](const std::byte* p) { return bf16_to_f32(read_unaligned<uint16_t>(p)); });
    default: return decode_all(src, n, dtype_size(dtype), [dtype](const std::byte* p) { return load_as_float(p, dtype); });
  }
}

void floats_to_contiguous(const std::vector<float>& values, std::byte* out, DType dtype) {
  const size_t n = values.size();
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(out, values.data(), n * sizeof(float));
      return;
    case DType::F16: return encode_all(values, out, 2, [](std::byte* p, float v) { write_unaligned(p, f32_to_f16(v)); });
    case DType::BF16: return encode_all(values, out, 2, [](std::byte* p, float v) { write_unaligned(p, f32_to_bf16(v)); });
    default:
      encode_all(values, out, dtype_size(dtype), [dtype](std::byte* p, float v) { store_from_float(p, dtype, v); });
  }
}

// Calls fn(element_offset) for every element of a strided tensor in row-major order.
template <class Fn>
void for_each_offset(const Shape& shape, const Shape& strides, Fn&& fn) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const size_t dims = shape.size();
  std::vector<int64_t> index(dims, 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(offset);
    for (size_t d = dims; d-- > 0;) {
      if (++index[d] < shape[d]) {
        offset += strides[d];
        break;
      }
      offset -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

}  // namespace

std::shared_ptr<Storage> make_owned_storage(size_t bytes) { return std::make_shared<OwnedStorage>(bytes); }

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

float load_as_float(const std::byte* p, DType dtype) {
  switch (dtype) {
    case DType::F32: return read_unaligned<float>(p);
    case DType::F16: return f16_to_f32(read_unaligned<uint16_t>(p));
    case DType::BF16: return bf16_to_f32(read_unaligned<uint16_t>(p));
    case DType::F8_E4M3FN:
    case DType::F8_E4M3FNUZ:
    case DType::F8_E5M2: return decode_float(float_format_of(dtype), static_cast<uint8_t>(*p));
    case DType::I8: return static_cast<float>(read_unaligned<int8_t>(p));
    case DType::U8: return static_cast<float>(read_unaligned<uint8_t>(p));
    case DType::I16: return static_cast<float>(read_unaligned<int16_t>(p));
    case DType::I32: return static_cast<float>(read_unaligned<int32_t>(p));
    case DType::I64: return static_cast<float>(read_unaligned<int64_t>(p));
    case DType::Bool: return *p != std::byte{0} ? 1.0f : 0.0f;
  }
  throw std::logic_error("unknown dtype");
}

void store_from_float(std::byte* p, DType dtype, float v) {
  switch (dtype) {
    case DType::F32: return write_unaligned(p, v);
    case DType::F16: return write_unaligned(p, f32_to_f16(v));
    case DType::BF16: return write_unaligned(p, f32_to_bf16(v));
    case DType::F8_E4M3FN:
    case DType::F8_E4M3FNUZ:
    case DType::F8_E5M2:
      *p = static_cast<std::byte>(encode_float(float_format_of(dtype), v));
      return;
    case DType::I8: return write_unaligned(p, saturating_cast<int8_t>(v));
    case DType::U8: return write_unaligned(p, saturating_cast<uint8_t>(v));
    case DType::I16: return write_unaligned(p, saturating_cast<int16_t>(v));
    case DType::I32: return write_unaligned(p, saturating_cast<int32_t>(v));
    case DType::I64: return write_unaligned(p, saturating_cast<int64_t>(v));
    case DType::Bool: *p = std::byte{v != 0.0f}; return;
  }
  throw std::logic_error("unknown dtype");
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_to_string(shape));
  }
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  return from_storage(make_owned_storage(bytes), 0, dtype, std::move(shape));
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  if (byte_offset + t.nbytes() > storage->size()) {
    throw std::out_of_range("tensor of " + std::to_string(t.nbytes()) + " bytes at offset " +
                            std::to_string(byte_offset) + " exceeds storage of " + std::to_string(storage->size()));
  }
  t.storage_ = std::move(storage);
  t.byte_offset_ = byte_offset;
  return t;
}

Tensor Tensor::from_bytes(DType dtype, Shape shape, std::span<const std::byte> bytes) {
  Tensor t = zeros(dtype, std::move(shape));
  if (bytes.size() != t.nbytes()) {
    throw std::invalid_argument("expected " + std::to_string(t.nbytes()) + " bytes for a " +
                                std::string(dtype_name(dtype)) + " tensor of shape " + shape_to_string(t.shape()) +
                                ", got " + std::to_string(bytes.size()));
  }
  if (!bytes.empty()) std::memcpy(t.raw_data(), bytes.data(), bytes.size());
  return t;
}

Tensor Tensor::from_floats(DType dtype, Shape shape, const std::vector<float>& values) {
  Tensor t = zeros(dtype, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel()) {
    throw std::invalid_argument("expected " + std::to_string(t.numel()) + " values for shape " +
                                shape_to_string(t.shape()) + ", got " + std::to_string(values.size()));
  }
  floats_to_contiguous(values, t.raw_data(), dtype);
  return t;
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_) || numel() <= 1; }

std::byte* Tensor::raw_data() {
  if (!storage_) throw std::logic_error("access to an undefined tensor");
  return storage_->data() + byte_offset_;
}

const std::byte* Tensor::raw_data() const {
  if (!storage_) throw std::logic_error("access to an undefined tensor");
  return storage_->data() + byte_offset_;
}

std::span<const std::byte> Tensor::bytes() const {
  if (!is_contiguous()) throw std::logic_error("bytes() of a non-contiguous tensor");
  return {raw_data(), nbytes()};
}

int64_t Tensor::normalize_dim(int64_t d) const {
  const int64_t n = dim();
  if (d < -n || d >= n) {
    throw std::out_of_range("dimension " + std::to_string(d) + " out of range for shape " + shape_to_string(shape_));
  }
  return d < 0 ? d + n : d;
}

void Tensor::check_element_type(size_t size) const {
  if (size != element_size()) {
    throw std::logic_error("typed access of " + std::to_string(size) + "-byte elements to a " +
                           std::string(dtype_name(dtype_)) + " tensor");
  }
}

Tensor Tensor::view(Shape shape) const {
  if (!is_contiguous()) throw std::logic_error("view() of a non-contiguous tensor; use reshape()");
  int64_t known = 1;
  int64_t inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) throw std::invalid_argument("more than one -1 in shape " + shape_to_string(shape));
      inferred = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0 && known != 0) shape[static_cast<size_t>(inferred)] = numel() / known;
  if (shape_numel(shape) != numel()) {
    throw std::invalid_argument("cannot view shape " + shape_to_string(shape_) + " as " + shape_to_string(shape));
  }
  Tensor t = *this;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::reshape(Shape shape) const { return is_contiguous() ? view(std::move(shape)) : contiguous().view(std::move(shape)); }

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const {
  d = normalize_dim(d);
  const auto ud = static_cast<size_t>(d);
  if (start < 0 || end > shape_[ud] || start > end) {
    throw std::out_of_range("slice [" + std::to_string(start) + ", " + std::to_string(end) + ") of dim " +
                            std::to_string(d) + " in shape " + shape_to_string(shape_));
  }
  Tensor t = *this;
  t.byte_offset_ += static_cast<size_t>(start * strides_[ud]) * element_size();
  t.shape_[ud] = end - start;
  return t;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = normalize_dim(d);
  Tensor t = slice(d, index, index + 1);
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  a = normalize_dim(a);
  b = normalize_dim(b);
  Tensor t = *this;
  std::swap(t.shape_[static_cast<size_t>(a)], t.shape_[static_cast<size_t>(b)]);
  std::swap(t.strides_[static_cast<size_t>(a)], t.strides_[static_cast<size_t>(b)]);
  return t;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = zeros(dtype_, shape_);
  const size_t es = element_size();
  const std::byte* src = raw_data();
  std::byte* dst = out.raw_data();
  for_each_offset(shape_, strides_, [&](int64_t offset) {
    std::memcpy(dst, src + offset * static_cast<int64_t>(es), es);
    dst += es;
  });
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor out = zeros(dtype, shape_);
  const size_t in_size = element_size();
  const size_t out_size = out.element_size();
  const std::byte* src = raw_data();
  std::byte* dst = out.raw_data();
  const bool integer_to_integer = !is_floating(dtype_) && !is_floating(dtype);
  for_each_offset(shape_, strides_, [&](int64_t offset) {
    const std::byte* element = src + offset * static_cast<int64_t>(in_size);
    if (integer_to_integer) {
      store_integer(dst, dtype, load_integer(element, dtype_));  // no detour through float
    } else {
      store_from_float(dst, dtype, load_as_float(element, dtype_));
    }
    dst += out_size;
  });
  return out;
}

std::vector<float> Tensor::to_float_vector() const {
  const std::byte* src = raw_data();
  if (is_contiguous()) return contiguous_to_floats(src, static_cast<size_t>(numel()), dtype_);
  std::vector<float> values;
  values.reserve(static_cast<size_t>(numel()));
  const auto es = static_cast<int64_t>(element_size());
  for_each_offset(shape_, strides_, [&](int64_t offset) { values.push_back(load_as_float(src + offset * es, dtype_)); });
  return values;
}

bool Tensor::equal(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  const Tensor a = contiguous();
  const Tensor b = other.contiguous();
  return a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

}  // namespace pq
