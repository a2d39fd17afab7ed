#include "host/gguf/dequantize.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "host/float_format.h"
#include "host/parallel.h"

// Bit-exactness with numpy needs every multiply and add rounded separately: no contraction
// into fused multiply-adds, whatever -march the build uses.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace pq::gguf {
namespace {

using Byte = uint8_t;

float half_at(const Byte* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return f16_to_f32(bits);
}

void dequant_f32(const Byte* block, float* out) { std::memcpy(out, block, 4); }
void dequant_f16(const Byte* block, float* out) { *out = half_at(block); }
void dequant_bf16(const Byte* block, float* out) {
  uint16_t bits;
  std::memcpy(&bits, block, 2);
  *out = bf16_to_f32(bits);
}

// The 32-value formats: element i < 16 is the low nibble of byte i, element i + 16 its high one.
int nibble(const Byte* qs, int i) { return i < 16 ? qs[i] & 0x0F : qs[i - 16] >> 4; }

void dequant_q4_0(const Byte* block, float* out) {
  const float d = half_at(block);
  for (int i = 0; i < 32; ++i) out[i] = d * static_cast<float>(nibble(block + 2, i) - 8);
}

void dequant_q4_1(const Byte* block, float* out) {
  const float d = half_at(block);
  const float m = half_at(block + 2);
  for (int i = 0; i < 32; ++i) out[i] = d * static_cast<float>(nibble(block + 4, i)) + m;
}

// The fifth bit of element i is bit i of a little-endian u32.
int five_bit(const Byte* qh, const Byte* qs, int i) {
  uint32_t high;
  std::memcpy(&high, qh, 4);
  return nibble(qs, i) | static_cast<int>(((high >> i) & 1u) << 4);
}

void dequant_q5_0(const Byte* block, float* out) {
  const float d = half_at(block);
  for (int i = 0; i < 32; ++i) out[i] = d * static_cast<float>(five_bit(block + 2, block + 6, i) - 16);
}

void dequant_q5_1(const Byte* block, float* out) {
  const float d = half_at(block);
  const float m = half_at(block + 2);
  for (int i = 0; i < 32; ++i) out[i] = d * static_cast<float>(five_bit(block + 4, block + 8, i)) + m;
}

void dequant_q8_0(const Byte* block, float* out) {
  const float d = half_at(block);
  for (int i = 0; i < 32; ++i) out[i] = static_cast<float>(static_cast<int8_t>(block[2 + i])) * d;
}

// K-quants: 256 values. In the 2-bit planes, value h*128 + s*32 + j is bits 2s..2s+1 of byte
// h*32 + j; in the 1-bit planes, value b*32 + j is bit b of byte j.
int two_bit(const Byte* qs, int i) { return (qs[(i / 128) * 32 + i % 32] >> (2 * ((i % 128) / 32))) & 3; }
int one_bit(const Byte* mask, int i) { return (mask[i % 32] >> (i / 32)) & 1; }

void dequant_q2_k(const Byte* block, float* out) {
  const Byte* scales = block;
  const Byte* qs = block + 16;
  const float d = half_at(block + 80);
  const float dmin = half_at(block + 82);
  for (int g = 0; g < 16; ++g) {
    const float dl = d * static_cast<float>(scales[g] & 0x0F);
    const float ml = dmin * static_cast<float>(scales[g] >> 4);
    for (int i = g * 16; i < g * 16 + 16; ++i) out[i] = dl * static_cast<float>(two_bit(qs, i)) - ml;
  }
}

void dequant_q3_k(const Byte* block, float* out) {
  const Byte* hmask = block;
  const Byte* qs = block + 32;
  const Byte* scales = block + 96;
  const float d = half_at(block + 108);
  for (int g = 0; g < 16; ++g) {
    const int low = g < 8 ? scales[g] & 0x0F : scales[g - 8] >> 4;
    const int high = (scales[8 + g % 4] >> (2 * (g / 4))) & 3;
    const float dl = d * static_cast<float>(static_cast<int8_t>(low | (high << 4)) - 32);
    for (int i = g * 16; i < g * 16 + 16; ++i) {
      // The offset of 4 applies where the mask bit is clear.
      const int q = two_bit(qs, i) - ((one_bit(hmask, i) ^ 1) << 2);
      out[i] = dl * static_cast<float>(q);
    }
  }
}

// Q4_K/Q5_K: eight 6-bit scales and mins packed in 12 bytes (ggml's get_scale_min_k4).
void k_scale_min(const Byte* packed, int sub_block, int& scale, int& min) {
  if (sub_block < 4) {
    scale = packed[sub_block] & 0x3F;
    min = packed[sub_block + 4] & 0x3F;
  } else {
    scale = (packed[sub_block + 4] & 0x0F) | ((packed[sub_block - 4] >> 2) & 0x30);
    min = (packed[sub_block + 4] >> 4) | ((packed[sub_block] >> 2) & 0x30);
  }
}

// Value c*64 + s*32 + j is nibble s of byte c*32 + j.
int k_nibble(const Byte* qs, int i) { return (qs[(i / 64) * 32 + i % 32] >> (4 * ((i % 64) / 32))) & 0x0F; }

template <bool kFifthBit>
void dequant_q45_k(const Byte* block, float* out) {
  const float d = half_at(block);
  const float dmin = half_at(block + 2);
  const Byte* qh = block + 16;
  const Byte* qs = block + (kFifthBit ? 48 : 16);
  for (int sb = 0; sb < 8; ++sb) {
    int scale = 0;
    int min = 0;
    k_scale_min(block + 4, sb, scale, min);
    const float dl = d * static_cast<float>(scale);
    const float ml = dmin * static_cast<float>(min);
    for (int i = sb * 32; i < sb * 32 + 32; ++i) {
      const int q = k_nibble(qs, i) | (kFifthBit ? one_bit(qh, i) << 4 : 0);
      out[i] = dl * static_cast<float>(q) - ml;
    }
  }
}

void dequant_q6_k(const Byte* block, float* out) {
  const Byte* ql = block;
  const Byte* qh = block + 128;
  const Byte* scales = block + 192;
  const float d = half_at(block + 208);
  for (int g = 0; g < 16; ++g) {
    const float dl = d * static_cast<float>(static_cast<int8_t>(scales[g]));
    for (int i = g * 16; i < g * 16 + 16; ++i) {
      // Value h*128 + s*64 + j: nibble s of ql byte h*64 + j, plus two high bits from qh.
      const int low = (ql[(i / 128) * 64 + i % 64] >> (4 * ((i % 128) / 64))) & 0x0F;
      const int q = static_cast<int8_t>(low | (two_bit(qh, i) << 4)) - 32;
      out[i] = dl * static_cast<float>(q);
    }
  }
}

using BlockDecoder = void (*)(const Byte* block, float* out);

BlockDecoder decoder_for(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return dequant_f32;
    case GgmlType::F16: return dequant_f16;
    case GgmlType::BF16: return dequant_bf16;
    case GgmlType::Q4_0: return dequant_q4_0;
    case GgmlType::Q4_1: return dequant_q4_1;
    case GgmlType::Q5_0: return dequant_q5_0;
    case GgmlType::Q5_1: return dequant_q5_1;
    case GgmlType::Q8_0: return dequant_q8_0;
    case GgmlType::Q2_K: return dequant_q2_k;
    case GgmlType::Q3_K: return dequant_q3_k;
    case GgmlType::Q4_K: return dequant_q45_k<false>;
    case GgmlType::Q5_K: return dequant_q45_k<true>;
    case GgmlType::Q6_K: return dequant_q6_k;
    default: return nullptr;
  }
}

constexpr int64_t kBlocksPerTask = 4096;

}  // namespace

bool can_dequantize(GgmlType type) { return decoder_for(type) != nullptr; }

std::string dequantizable_type_names() {
  std::string names;
  for (const GgmlTypeInfo& info : all_ggml_types()) {
    if (can_dequantize(info.type)) names += (names.empty() ? "" : ", ") + std::string(info.name);
  }
  return names;
}

void dequantize(GgmlType type, std::span<const std::byte> bytes, std::span<float> out) {
  const BlockDecoder decode = decoder_for(type);
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (decode == nullptr) {
    throw std::invalid_argument("cannot dequantize ggml type " + std::string(info.name) + " (supported: " +
                                dequantizable_type_names() + ")");
  }
  if (bytes.size() % info.block_bytes != 0 || bytes.size() / info.block_bytes * info.block_elements != out.size()) {
    throw std::invalid_argument("dequantize " + std::string(info.name) + ": " + std::to_string(bytes.size()) +
                                " bytes do not hold " + std::to_string(out.size()) + " values");
  }
  const auto* src = reinterpret_cast<const Byte*>(bytes.data());
  float* dst = out.data();
  const auto blocks = static_cast<int64_t>(bytes.size() / info.block_bytes);
  parallel_for(blocks, kBlocksPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) decode(src + b * info.block_bytes, dst + b * info.block_elements);
  });
}

Tensor dequantize_tensor(const GgufFile& file, const GgufTensorInfo& tensor) {
  if (!can_dequantize(tensor.type)) {
    file.fail_tensor(tensor.name, "ggml type " + ggml_type_name(tensor.type) + " cannot be dequantized (supported: " +
                                      dequantizable_type_names() + ")");
  }
  Tensor values = Tensor::zeros(DType::F32, tensor.shape);
  dequantize(tensor.type, file.tensor_bytes(tensor), {values.data<float>(), static_cast<size_t>(values.numel())});
  return values;
}

}  // namespace pq::gguf
