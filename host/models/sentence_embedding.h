// How a directory turns an encoder's hidden states into sentence embeddings: plain BERT
// directories and sentence-transformers ones (modules.json: Transformer → Pooling(mean) →
// Normalize) both give mean-pooled, L2-normalised embeddings; other poolings are refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "host/models/bert_config.h"
#include "host/tokenizer/tokenizer.h"

namespace pq::models {

struct SentenceEmbeddingSetup {
  int64_t max_tokens = 0;  // sentence_bert_config.json max_seq_length, else max_position_embeddings
};

// FormatError naming the file and key for a pooling other than mean tokens.
SentenceEmbeddingSetup sentence_embedding_setup(const std::filesystem::path& model_dir, const BertConfig& config);

// `text` tokenized with the post-processor's special tokens, its content cut so that the whole
// holds at most `max_tokens` (sentence-transformers truncates the same way).
std::vector<int32_t> encode_truncated(const tok::Tokenizer& tokenizer, const std::string& text, int64_t max_tokens);

}  // namespace pq::models
