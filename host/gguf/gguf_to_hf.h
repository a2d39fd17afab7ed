// `portaquant convert`: a GGUF file (llama or qwen2) to an ordinary Hugging Face model
// directory — config.json, generation_config.json, model.safetensors (float32 by default, or
// f16/bf16 rounded to nearest even from the float32 dequantization), tokenizer.json,
// tokenizer_config.json and chat_template.jinja when the file has them — whose tensors are bit
// for bit what transformers' own GGUF loading gives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "host/dtype.h"

namespace pq::gguf {

struct GgufConvertProgress {
  size_t done;
  size_t total;
  const std::string& tensor;  // the Hugging Face name just written
};

struct GgufConvertOptions {
  DType dtype = DType::F32;  // F32, F16 or BF16
  bool overwrite = false;    // replace an existing output directory
  uint64_t max_shard_bytes = uint64_t{5} << 30;  // transformers' default shard size
  std::function<void(const GgufConvertProgress&)> on_tensor_done;
};

struct GgufConvertSummary {
  std::string architecture;                 // general.architecture
  size_t tensors = 0;                       // written to the checkpoint
  std::map<std::string, size_t> ggml_types; // "Q4_1" -> how many tensors of the file had it
  uint64_t input_bytes = 0;                 // the GGUF file
  uint64_t output_bytes = 0;                // the tensors written
  bool tokenizer = false;                   // tokenizer files written
};

// The output directory appears complete or not at all (a staging directory renamed into place);
// an existing one is refused unless `overwrite`. Bad input is a FormatError naming the file and
// the key or tensor, before anything is written.
GgufConvertSummary convert_gguf_to_hf(const std::filesystem::path& gguf_path, const std::filesystem::path& output_dir,
                                      const GgufConvertOptions& options);

}  // namespace pq::gguf
