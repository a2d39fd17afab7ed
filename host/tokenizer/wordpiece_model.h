// WordPiece (BERT): greedy longest-match-first over the word, continuation pieces spelled
// with a prefix ("##"); a word with an unmatchable rest, or longer than
// max_input_chars_per_word characters, is the unknown token as a whole.
#pragma once

#include <string>

#include "host/tokenizer/vocab_model.h"

namespace pq::tok {

class WordPieceModel final : public VocabModel {
 public:
  explicit WordPieceModel(const JsonNode& node);
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;

 private:
  int32_t unk_;
  std::string prefix_;
  int64_t max_chars_;
};

}  // namespace pq::tok
