// WordLevel: a word is one token, or the unknown token.
#pragma once

#include "host/tokenizer/vocab_model.h"

namespace pq::tok {

class WordLevelModel final : public VocabModel {
 public:
  explicit WordLevelModel(const JsonNode& node);
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;

 private:
  int32_t unk_;
};

}  // namespace pq::tok
