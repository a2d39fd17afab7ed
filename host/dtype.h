// Element types of host tensors and their names in safetensors headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pq {

enum class DType : uint8_t {
  F32,
  F16,
  BF16,
  F8_E4M3FN,
  F8_E4M3FNUZ,
  F8_E5M2,
  I8,
  U8,
  I16,
  I32,
  I64,
  Bool,
};

inline constexpr DType kAllDTypes[] = {DType::F32,       DType::F16,         DType::BF16,
                                       DType::F8_E4M3FN, DType::F8_E4M3FNUZ, DType::F8_E5M2,
                                       DType::I8,        DType::U8,          DType::I16,
                                       DType::I32,       DType::I64,         DType::Bool};

size_t dtype_size(DType dtype);
bool is_floating(DType dtype);
bool is_float8(DType dtype);

// torch's spelling ("float16", "float8_e4m3fn", ...), used in messages and metadata.
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);

// safetensors' spelling ("F16", "F8_E4M3", ...).
std::string_view safetensors_dtype_name(DType dtype);
std::optional<DType> dtype_from_safetensors_name(std::string_view name);

}  // namespace pq
