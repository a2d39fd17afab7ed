// A model's token <-> id table, read from a {"token": id, ...} object.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

// Hashes std::string and std::string_view alike, so lookups need no temporary string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

class Vocab {
 public:
  // Ids must be integers in [0, 2^31), each used once, and not much sparser than the table.
  static Vocab from_json(const JsonNode& object);

  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;

  std::optional<int32_t> find(std::string_view token) const;
  // nullptr for an id no token has.
  const std::string* token(int32_t id) const;
  // The number of tokens (HF's Model::get_vocab_size).
  int64_t size() const { return int64_t(ids_.size()); }
  // -1 when empty.
  int32_t max_id() const { return int32_t(tokens_.size()) - 1; }

 private:
  Vocab() = default;
  StringMap<int32_t> ids_;
  std::vector<const std::string*> tokens_;  // keys of ids_, which stay put as the map grows
};

}  // namespace pq::tok
