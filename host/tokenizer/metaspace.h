// SentencePiece's metaspace convention, shared by the Metaspace pre-tokenizer and decoder:
// spaces are written as a visible character (default U+2581 "▁"), and a word-initial one is
// prepended to the text so that the first word looks like the others.
#pragma once

#include <string>
#include <string_view>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

enum class PrependScheme { Always, First, Never };

struct MetaspaceOptions {
  char32_t replacement = 0x2581;
  std::string replacement_utf8;
  PrependScheme prepend_scheme = PrependScheme::Always;
  bool split = true;

  // {"replacement", "prepend_scheme": "always"|"first"|"never", "split"}; files written before
  // prepend_scheme existed say "add_prefix_space" (true: always, false: never).
  static MetaspaceOptions from_json(const JsonNode& node);

  // Spaces replaced and the replacement prepended as the scheme says; `at_start` tells
  // whether the text begins the caller's input (scheme "first").
  std::string encode(std::string_view text, bool at_start) const;
};

}  // namespace pq::tok
