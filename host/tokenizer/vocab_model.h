// The part every model shares: a Vocab, and the lookups of the Model interface over it.
#pragma once

#include "host/tokenizer/model.h"
#include "host/tokenizer/vocab.h"

namespace pq::tok {

class VocabModel : public Model {
 public:
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int64_t token_count() const override { return vocab_.size(); }
  int32_t max_id() const override { return vocab_.max_id(); }

 protected:
  explicit VocabModel(Vocab vocab) : vocab_(std::move(vocab)) {}
  // The id of the token named by node (a string), which must be in the vocabulary.
  int32_t id_named_by(const JsonNode& node) const;

  Vocab vocab_;
};

}  // namespace pq::tok
