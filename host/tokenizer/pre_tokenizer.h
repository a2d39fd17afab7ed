// Pre-tokenizers: cut the normalised pieces into the words the model tokenizes one by one.
// Built from the "pre_tokenizer" member.
#pragma once

#include <memory>

#include "host/tokenizer/json_node.h"
#include "host/tokenizer/piece.h"

namespace pq::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Works on the pieces that are not added tokens; leaves no empty piece.
  virtual void pre_tokenize(Pieces& pieces) const = 0;
};

// ByteLevel, Split, Digits, Metaspace, BertPreTokenizer, Whitespace, WhitespaceSplit,
// Punctuation, CharDelimiterSplit, Sequence; any other type throws FormatError.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode& node);

}  // namespace pq::tok
