#include "host/tokenizer/vocab.h"

namespace pq::tok {

Vocab Vocab::from_json(const JsonNode& object) {
  if (!object.json().is_object())
    object.fail(std::string("expected an object {token: id}, found ") + object.json().type_name());
  Vocab v;
  v.ids_.reserve(object.json().size());
  int32_t max_id = -1;
  for (const auto& [token, value] : object.json().items()) {
    int32_t id = JsonNode(value, object.path() + "[\"" + token + "\"]", object.source()).as_id();
    v.ids_.emplace(token, id);
    max_id = std::max(max_id, id);
  }
  // A table indexed by id: refuse ids so sparse that it would dwarf the vocabulary.
  if (int64_t(max_id) >= 2 * int64_t(v.ids_.size()) + 65536)
    object.fail("id " + std::to_string(max_id) + " is far beyond the " +
                std::to_string(v.ids_.size()) + " tokens");
  v.tokens_.assign(size_t(max_id + 1), nullptr);
  for (const auto& [token, id] : v.ids_) {
    if (v.tokens_[size_t(id)])
      object.fail("id " + std::to_string(id) + " is given to both \"" + *v.tokens_[size_t(id)] +
                  "\" and \"" + token + "\"");
    v.tokens_[size_t(id)] = &token;
  }
  return v;
}

std::optional<int32_t> Vocab::find(std::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* Vocab::token(int32_t id) const {
  if (id < 0 || size_t(id) >= tokens_.size()) return nullptr;
  return tokens_[size_t(id)];
}

}  // namespace pq::tok
