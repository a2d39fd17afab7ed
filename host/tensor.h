// Host tensors: a dtype, a shape and strides over shared byte storage (owned or memory-mapped).
// Views (reshape, slice, select, transpose) share storage; contiguous()/clone()/to() copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "host/dtype.h"

namespace pq {

using Shape = std::vector<int64_t>;

class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::byte* data() = 0;
  virtual size_t size() const = 0;
};

// Zero-filled heap storage.
std::shared_ptr<Storage> make_owned_storage(size_t bytes);

int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  static Tensor zeros(DType dtype, Shape shape);
  // A contiguous tensor over `storage` starting at `byte_offset`; checks the bounds.
  static Tensor from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, DType dtype, Shape shape);
  // Copies `bytes` (exactly numel × element size of them) into a new tensor.
  static Tensor from_bytes(DType dtype, Shape shape, std::span<const std::byte> bytes);
  template <class T>
  static Tensor from_values(DType dtype, Shape shape, const std::vector<T>& values) {
    return from_bytes(dtype, std::move(shape), std::as_bytes(std::span<const T>(values)));
  }
  // Rounds each value into `dtype` (a float dtype: as its cast; an integer dtype: truncation).
  static Tensor from_floats(DType dtype, Shape shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const { return shape_.at(static_cast<size_t>(normalize_dim(d))); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t element_size() const { return dtype_size(dtype_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }
  bool is_contiguous() const;

  // Pointer to the first element. Typed access checks the element size; it does not make the
  // tensor contiguous, so index with strides() or call contiguous() first.
  std::byte* raw_data();
  const std::byte* raw_data() const;
  template <class T>
  T* data() {
    check_element_type(sizeof(T));
    return reinterpret_cast<T*>(raw_data());
  }
  template <class T>
  const T* data() const {
    check_element_type(sizeof(T));
    return reinterpret_cast<const T*>(raw_data());
  }
  // Bytes of a contiguous tensor.
  std::span<const std::byte> bytes() const;

  Tensor view(Shape shape) const;     // contiguous only; one dim may be -1
  Tensor reshape(Shape shape) const;  // a view when contiguous, else a copy
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;

  // All elements in logical (row-major) order, as float32 (integers converted exactly up to 2^24).
  std::vector<float> to_float_vector() const;
  // Same dtype, shape and bytes.
  bool equal(const Tensor& other) const;

 private:
  int64_t normalize_dim(int64_t d) const;
  void check_element_type(size_t size) const;

  std::shared_ptr<Storage> storage_;
  size_t byte_offset_ = 0;
  DType dtype_ = DType::F32;
  Shape shape_;
  Shape strides_;  // in elements
};

// Element access by dtype, shared by conversions and I/O.
float load_as_float(const std::byte* element, DType dtype);
void store_from_float(std::byte* element, DType dtype, float value);

}  // namespace pq
