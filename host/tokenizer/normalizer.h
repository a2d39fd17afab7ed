// Normalizers: the first stage of encode(), applied to the text between added tokens (and to
// the content of added tokens marked "normalized"). Built from the "normalizer" member.
#pragma once

#include <memory>
#include <string>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Precondition and postcondition: valid UTF-8.
  virtual std::string normalize(std::string text) const = 0;
};

// BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace,
// Sequence; any other type throws FormatError naming the key path.
std::unique_ptr<Normalizer> make_normalizer(const JsonNode& node);

}  // namespace pq::tok
