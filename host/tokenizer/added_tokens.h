// The "added_tokens" of a tokenizer.json (HF's AddedVocabulary): strings matched in the text
// before the model sees it. Tokens with "normalized": false are matched in the raw text, the
// others in the normalised text between them (against their normalised content); the longest
// match at the leftmost position wins. "single_word" refuses a match inside a word, "lstrip" /
// "rstrip" swallow the whitespace on that side, "special" marks what decode can skip.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "host/tokenizer/json_node.h"
#include "host/tokenizer/model.h"
#include "host/tokenizer/normalizer.h"
#include "host/tokenizer/piece.h"
#include "host/tokenizer/vocab.h"

namespace pq::tok {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;

  static AddedToken from_json(const JsonNode& node);
};

class AddedVocabulary {
 public:
  // Numbers the tokens as HF does: a token the model has keeps the model's id, the others get
  // the next ids after the model's tokens, in file order (the "id" written in the file is
  // not used, as in HF, which only warns when it differs). `normalizer` may be null.
  AddedVocabulary(const std::vector<AddedToken>& tokens, const Model& model,
                  const Normalizer* normalizer);

  // The text cut into added tokens and normalised pieces (HF's extract_and_normalize).
  Pieces extract_and_normalize(std::string_view text, const Normalizer* normalizer) const;

  std::optional<int32_t> token_to_id(std::string_view content) const;
  // The token's content; for a "normalized" token, its normalised content (as HF decodes it).
  const std::string* id_to_token(int32_t id) const;
  // Whether decode() skips this token string when skipping special tokens: it is the content
  // of a special token. (So HF keeps a normalized special token whose normalised content
  // differs; is_special_id still says it is special.)
  bool is_special(std::string_view token) const;
  bool is_special_id(int32_t id) const;
  int32_t max_id() const { return max_id_; }

 private:
  // Leftmost-longest matching over a set of strings (a byte trie).
  class Matcher {
   public:
    void add(std::string_view pattern, int32_t id);
    // The longest pattern starting at text[at], as (length, id).
    std::optional<std::pair<size_t, int32_t>> longest_at(std::string_view text, size_t at) const;
    bool empty() const { return nodes_.size() == 1; }

   private:
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;
      int32_t id = -1;
    };
    std::vector<Node> nodes_{Node{}};
  };
  struct Found {
    size_t begin, end;
    int32_t id;
  };

  struct Entry {
    AddedToken token;
    std::string decoded;  // what id_to_token gives
  };
  StringMap<int32_t> ids_;
  std::unordered_map<int32_t, Entry> tokens_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> special_;
  Matcher raw_, normalized_;
  int32_t max_id_ = -1;

  // HF's find_matches: the added tokens in `text` after single_word / lstrip / rstrip.
  std::vector<Found> find(std::string_view text, const Matcher& matcher) const;
  // Appends the tokens `matcher` finds in `text` to `out`, and hands every non-empty text
  // between them to on_gap(text, at_start).
  template <class OnGap>
  void split(std::string_view text, bool at_start, const Matcher& matcher, Pieces& out,
             OnGap&& on_gap) const;
};

}  // namespace pq::tok
