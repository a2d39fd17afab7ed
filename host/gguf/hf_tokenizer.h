// A Hugging Face tokenizer (tokenizer.json, tokenizer_config.json, chat template) built from a
// GGUF file's tokenizer metadata (tokenizer.ggml.*), the way transformers' GGUF tokenizer
// converter builds it, so the same text gives the same ids. Supported tokenizer.ggml.model:
// "gpt2" (byte-level BPE from tokens + merges, tokenizer.ggml.pre picking the split regex) and
// "llama" (SentencePiece BPE with byte fallback and a Metaspace pre-tokenizer; merges from the
// file, else recovered from tokens + scores as transformers' generate_merges does). Control
// tokens and the bos/eos/unk/pad tokens become special added tokens, user-defined ones plain
// added tokens; BOS/EOS come from add_bos_token/add_eos_token in the post-processor.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "host/gguf/gguf_file.h"

namespace pq::gguf {

struct HfTokenizerFiles {
  nlohmann::ordered_json tokenizer;         // tokenizer.json
  nlohmann::ordered_json tokenizer_config;  // tokenizer_config.json
  std::optional<std::string> chat_template; // tokenizer.chat_template, for chat_template.jinja
};

// nullopt when the file describes no tokenizer (no tokenizer.ggml.model); FormatError naming
// the key for an unsupported tokenizer model or inconsistent metadata.
std::optional<HfTokenizerFiles> hf_tokenizer_files(const GgufFile& file);

}  // namespace pq::gguf
