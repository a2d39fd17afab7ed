// Incremental detokenisation for streaming generation: push ids one at a time and get back
// the text that became final. Everything push() returned plus flush() equals
// Tokenizer::decode(all ids); no return value ends inside a UTF-8 character.
//
// How: the decoder runs over a short window, the tokens of the last emitted piece (the
// context) plus the new ones; the text beyond the context's own decoding is new. That holds
// for HF's decoders because they treat only the first token specially (WordPiece, Metaspace,
// Strip of leading characters), which is inside the context, and are otherwise local. Text is
// held back while it ends in U+FFFD (an incomplete byte sequence), after a byte-fallback token
// (a later byte can make the whole run invalid) or on a character a trailing Strip removes.
// Not exact for Replace decoders whose pattern spans tokens after a Fuse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/tokenizer/tokenizer.h"

namespace pq::tok {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& t, bool skip_special_tokens = true);

  // Throws std::out_of_range for an id the tokenizer does not have.
  std::string push(int32_t id);
  // The text still held back; the decoder starts afresh afterwards.
  std::string flush();

 private:
  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  std::vector<std::string> window_;  // the context, then the tokens not yet emitted
  size_t context_end_ = 0;           // window_[0, context_end_) is the context
  std::string context_text_;         // what the context decodes to on its own
};

}  // namespace pq::tok
