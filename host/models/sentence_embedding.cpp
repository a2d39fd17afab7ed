#include "host/models/sentence_embedding.h"

#include <stdexcept>

#include "host/json_fields.h"

namespace pq::models {
namespace fs = std::filesystem;

SentenceEmbeddingSetup sentence_embedding_setup(const fs::path& dir, const BertConfig& config) {
  SentenceEmbeddingSetup setup{config.max_position_embeddings};
  if (const fs::path st = dir / "sentence_bert_config.json"; fs::exists(st)) {
    const nlohmann::json j = read_json_file(st.string());
    setup.max_tokens = JsonFields(j, st.string()).integer("max_seq_length", 1, config.max_position_embeddings, setup.max_tokens);
  }
  if (const fs::path pooling = dir / "1_Pooling" / "config.json"; fs::exists(pooling)) {
    const nlohmann::json j = read_json_file(pooling.string());
    const JsonFields f(j, pooling.string());
    for (const char* other : {"pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"}) {
      if (f.boolean(other, false)) f.fail(other, "only mean pooling (pooling_mode_mean_tokens) is supported");
    }
    if (!f.boolean("pooling_mode_mean_tokens", true)) f.fail("pooling_mode_mean_tokens", "only mean pooling is supported");
  }
  return setup;
}

std::vector<int32_t> encode_truncated(const tok::Tokenizer& tokenizer, const std::string& text, int64_t max_tokens) {
  const std::vector<int32_t> prefix = tokenizer.special_prefix(), suffix = tokenizer.special_suffix();
  std::vector<int32_t> content = tokenizer.encode(text, false);
  const int64_t room = max_tokens - static_cast<int64_t>(prefix.size() + suffix.size());
  if (room < 1) throw std::invalid_argument("a sequence of " + std::to_string(max_tokens) + " tokens has no room for text");
  if (static_cast<int64_t>(content.size()) > room) content.resize(static_cast<size_t>(room));
  std::vector<int32_t> ids = prefix;
  ids.insert(ids.end(), content.begin(), content.end());
  ids.insert(ids.end(), suffix.begin(), suffix.end());
  return ids;
}

}  // namespace pq::models
