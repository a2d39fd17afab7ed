// Decoders: turn the tokens of decode() back into text. Built from the "decoder" member.
// As in HF, a decoder maps the list of token strings to a new list (decode_chain), and the
// text is their concatenation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;

  // For StreamDecoder: true when the text decoded so far, ending with `last_token` and
  // reading `text`, may still change once more tokens follow (a run of byte tokens that a
  // later byte could turn invalid, a trailing character a Strip may remove).
  virtual bool unsettled(std::string_view last_token, std::string_view text) const {
    (void)last_token;
    (void)text;
    return false;
  }
};

// ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence;
// any other type throws FormatError naming the key path.
std::unique_ptr<Decoder> make_decoder(const JsonNode& node);

}  // namespace pq::tok
