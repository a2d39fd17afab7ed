// Models: turn one pre-tokenized word into token ids. Built from the "model" member.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `word` (never empty) to `ids`. Safe to call from several threads.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& ids) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // nullptr for an id the model does not have.
  virtual const std::string* id_to_token(int32_t id) const = 0;
  // The number of tokens (HF numbers added tokens from here).
  virtual int64_t token_count() const = 0;
  virtual int32_t max_id() const = 0;
};

// BPE, WordPiece, WordLevel; any other type throws FormatError naming the key path.
std::unique_ptr<Model> make_model(const JsonNode& node);

}  // namespace pq::tok
