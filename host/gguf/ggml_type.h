// The tensor types a GGUF file can hold (ggml's `enum ggml_type`), with the block geometry that
// fixes how many bytes a row of them takes. Ids are the file's; names are ggml's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace pq::gguf {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;
  uint32_t block_elements;  // values per block (1 for plain number types)
  uint32_t block_bytes;     // bytes per block
};

// Every type ggml defines, in id order.
std::span<const GgmlTypeInfo> all_ggml_types();
// The type with this id, or nullopt for an id ggml does not define.
std::optional<GgmlTypeInfo> find_ggml_type(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
std::string ggml_type_name(GgmlType type);

}  // namespace pq::gguf
