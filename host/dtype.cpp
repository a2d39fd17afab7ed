#include "host/dtype.h"

#include <array>
#include <stdexcept>

namespace pq {
namespace {

struct DTypeInfo {
  DType dtype;
  size_t size;
  std::string_view torch_name;
  std::string_view safetensors_name;
};

constexpr std::array<DTypeInfo, 12> kInfo = {{
    {DType::F32, 4, "float32", "F32"},
    {DType::F16, 2, "float16", "F16"},
    {DType::BF16, 2, "bfloat16", "BF16"},
    {DType::F8_E4M3FN, 1, "float8_e4m3fn", "F8_E4M3"},
    {DType::F8_E4M3FNUZ, 1, "float8_e4m3fnuz", "F8_E4M3FNUZ"},
    {DType::F8_E5M2, 1, "float8_e5m2", "F8_E5M2"},
    {DType::I8, 1, "int8", "I8"},
    {DType::U8, 1, "uint8", "U8"},
    {DType::I16, 2, "int16", "I16"},
    {DType::I32, 4, "int32", "I32"},
    {DType::I64, 8, "int64", "I64"},
    {DType::Bool, 1, "bool", "BOOL"},
}};

const DTypeInfo& info(DType dtype) {
  const auto index = static_cast<size_t>(dtype);
  if (index >= kInfo.size() || kInfo[index].dtype != dtype) {
    throw std::logic_error("dtype table out of order");
  }
  return kInfo[index];
}

}  // namespace

size_t dtype_size(DType dtype) { return info(dtype).size; }

bool is_floating(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || is_float8(dtype);
}

bool is_float8(DType dtype) {
  return dtype == DType::F8_E4M3FN || dtype == DType::F8_E4M3FNUZ || dtype == DType::F8_E5M2;
}

std::string_view dtype_name(DType dtype) { return info(dtype).torch_name; }
std::string_view safetensors_dtype_name(DType dtype) { return info(dtype).safetensors_name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kInfo) {
    if (entry.torch_name == name) return entry.dtype;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  for (const auto& entry : kInfo) {
    if (entry.safetensors_name == name) return entry.dtype;
  }
  return std::nullopt;
}

}  // namespace pq
