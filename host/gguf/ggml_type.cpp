#include "host/gguf/ggml_type.h"

#include <algorithm>
#include <stdexcept>

namespace pq::gguf {
namespace {

constexpr uint32_t kSuperBlock = 256;  // QK_K: the K-quants' and IQ types' block

// Sizes as ggml's type traits (and gguf-py's GGML_QUANT_SIZES) give them.
constexpr GgmlTypeInfo kTypes[] = {
    {GgmlType::F32, "F32", 1, 4},
    {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 2 + 16},
    {GgmlType::Q4_1, "Q4_1", 32, 2 + 2 + 16},
    {GgmlType::Q5_0, "Q5_0", 32, 2 + 4 + 16},
    {GgmlType::Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16},
    {GgmlType::Q8_0, "Q8_0", 32, 2 + 32},
    {GgmlType::Q8_1, "Q8_1", 32, 4 + 4 + 32},
    {GgmlType::Q2_K, "Q2_K", kSuperBlock, 2 + 2 + kSuperBlock / 16 + kSuperBlock / 4},
    {GgmlType::Q3_K, "Q3_K", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 8 + 12},
    {GgmlType::Q4_K, "Q4_K", kSuperBlock, 2 + 2 + kSuperBlock / 2 + 12},
    {GgmlType::Q5_K, "Q5_K", kSuperBlock, 2 + 2 + kSuperBlock / 2 + kSuperBlock / 8 + 12},
    {GgmlType::Q6_K, "Q6_K", kSuperBlock, 2 + kSuperBlock / 2 + kSuperBlock / 4 + kSuperBlock / 16},
    {GgmlType::Q8_K, "Q8_K", kSuperBlock, 4 + kSuperBlock + kSuperBlock / 8},
    {GgmlType::IQ2_XXS, "IQ2_XXS", kSuperBlock, 2 + kSuperBlock / 4},
    {GgmlType::IQ2_XS, "IQ2_XS", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 32},
    {GgmlType::IQ3_XXS, "IQ3_XXS", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 8},
    {GgmlType::IQ1_S, "IQ1_S", kSuperBlock, 2 + kSuperBlock / 8 + kSuperBlock / 16},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 2 + 16},
    {GgmlType::IQ3_S, "IQ3_S", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 8 + kSuperBlock / 32 + 4},
    {GgmlType::IQ2_S, "IQ2_S", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 16},
    {GgmlType::IQ4_XS, "IQ4_XS", kSuperBlock, 2 + 2 + kSuperBlock / 2 + kSuperBlock / 64},
    {GgmlType::I8, "I8", 1, 1},
    {GgmlType::I16, "I16", 1, 2},
    {GgmlType::I32, "I32", 1, 4},
    {GgmlType::I64, "I64", 1, 8},
    {GgmlType::F64, "F64", 1, 8},
    {GgmlType::IQ1_M, "IQ1_M", kSuperBlock, kSuperBlock / 8 + kSuperBlock / 16 + kSuperBlock / 32},
    {GgmlType::BF16, "BF16", 1, 2},
    {GgmlType::TQ1_0, "TQ1_0", kSuperBlock, 2 + 4 * 13},
    {GgmlType::TQ2_0, "TQ2_0", kSuperBlock, 2 + 64},
    {GgmlType::MXFP4, "MXFP4", 32, 1 + 16},
    {GgmlType::NVFP4, "NVFP4", 64, 4 + 32},
    {GgmlType::Q1_0, "Q1_0", 128, 2 + 16},
};

}  // namespace

std::span<const GgmlTypeInfo> all_ggml_types() { return kTypes; }

std::optional<GgmlTypeInfo> find_ggml_type(uint32_t id) {
  const auto* it = std::find_if(std::begin(kTypes), std::end(kTypes),
                                [id](const GgmlTypeInfo& info) { return static_cast<uint32_t>(info.type) == id; });
  if (it == std::end(kTypes)) return std::nullopt;
  return *it;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  for (const GgmlTypeInfo& info : kTypes) {
    if (info.type == type) return info;
  }
  throw std::invalid_argument("unknown ggml type id " + std::to_string(static_cast<uint32_t>(type)));
}

std::string ggml_type_name(GgmlType type) { return ggml_type_info(type).name; }

}  // namespace pq::gguf
