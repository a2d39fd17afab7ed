// Dequantization of GGUF tensors to float32, bit for bit as gguf-py's `gguf.quants.dequantize`
// computes it (numpy float32 arithmetic, every product and sum rounded on its own, no fused
// multiply-add), which is what transformers' GGUF loader uses. Supported: F32, F16, BF16, Q4_0,
// Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "host/gguf/ggml_type.h"
#include "host/gguf/gguf_file.h"
#include "host/tensor.h"

namespace pq::gguf {

bool can_dequantize(GgmlType type);
std::string dequantizable_type_names();  // "F32, F16, ..." for messages

// Decodes `bytes` (whole blocks of `type`) into `out`, which must hold exactly the values those
// blocks stand for. Throws std::invalid_argument for an unsupported type or mismatched sizes.
void dequantize(GgmlType type, std::span<const std::byte> bytes, std::span<float> out);

// The tensor as a contiguous float32 tensor of its row-major shape. An unsupported type is a
// FormatError naming the file and the tensor.
Tensor dequantize_tensor(const GgufFile& file, const GgufTensorInfo& tensor);

}  // namespace pq::gguf
