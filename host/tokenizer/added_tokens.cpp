#include "host/tokenizer/added_tokens.h"

#include <algorithm>

#include "host/tokenizer/unicode.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

// The character that ends text[0, at), or nullopt at the start.
std::optional<char32_t> char_before(std::string_view text, size_t at) {
  if (at == 0) return std::nullopt;
  size_t lead = at - 1;
  while (lead > 0 && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
  return utf8::next(text, lead);
}

std::optional<char32_t> char_at(std::string_view text, size_t at) {
  if (at >= text.size()) return std::nullopt;
  return utf8::next(text, at);
}

}  // namespace

AddedToken AddedToken::from_json(const JsonNode& node) {
  AddedToken t;
  t.content = node.at("content").as_string();
  t.single_word = node.bool_or("single_word", false);
  t.lstrip = node.bool_or("lstrip", false);
  t.rstrip = node.bool_or("rstrip", false);
  t.normalized = node.bool_or("normalized", true);
  t.special = node.bool_or("special", false);
  return t;
}

void AddedVocabulary::Matcher::add(std::string_view pattern, int32_t id) {
  if (pattern.empty()) return;
  int32_t node = 0;
  for (char ch : pattern) {
    auto byte = static_cast<unsigned char>(ch);
    auto& children = nodes_[size_t(node)].children;
    auto it = std::find_if(children.begin(), children.end(),
                           [&](const auto& child) { return child.first == byte; });
    if (it != children.end()) {
      node = it->second;
    } else {
      int32_t created = int32_t(nodes_.size());
      children.emplace_back(byte, created);
      nodes_.emplace_back();
      node = created;
    }
  }
  if (nodes_[size_t(node)].id < 0) nodes_[size_t(node)].id = id;  // the first of equal patterns
}

std::optional<std::pair<size_t, int32_t>> AddedVocabulary::Matcher::longest_at(
    std::string_view text, size_t at) const {
  std::optional<std::pair<size_t, int32_t>> best;
  int32_t node = 0;
  for (size_t i = at; i < text.size(); ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    const auto& children = nodes_[size_t(node)].children;
    auto it = std::find_if(children.begin(), children.end(),
                           [&](const auto& child) { return child.first == byte; });
    if (it == children.end()) break;
    node = it->second;
    if (nodes_[size_t(node)].id >= 0) best = {{i + 1 - at, nodes_[size_t(node)].id}};
  }
  return best;
}

AddedVocabulary::AddedVocabulary(const std::vector<AddedToken>& tokens, const Model& model,
                                 const Normalizer* normalizer) {
  std::vector<const AddedToken*> specials, others;
  for (const AddedToken& t : tokens) {
    if (t.special && !t.content.empty() && special_.insert(t.content).second)
      specials.push_back(&t);
  }
  const int64_t model_tokens = model.token_count();
  for (const AddedToken& t : tokens) {
    if (t.content.empty() || ids_.contains(t.content)) continue;  // the first one counts
    int32_t id;
    if (auto model_id = model.token_to_id(t.content)) id = *model_id;
    else if (max_id_ < 0 || (max_id_ < model_tokens && model_tokens > 0)) id = int32_t(model_tokens);
    else id = max_id_ + 1;
    ids_[t.content] = id;
    std::string decoded = t.normalized && normalizer ? normalizer->normalize(t.content) : t.content;
    tokens_[id] = {t, std::move(decoded)};
    max_id_ = std::max(max_id_, id);
    if (!special_.contains(t.content)) others.push_back(&t);
  }
  specials.insert(specials.end(), others.begin(), others.end());
  for (const AddedToken* t : specials) {
    int32_t id = ids_.at(t->content);
    if (t->normalized) normalized_.add(tokens_.at(id).decoded, id);
    else raw_.add(t->content, id);
  }
}

std::vector<AddedVocabulary::Found> AddedVocabulary::find(std::string_view text,
                                                          const Matcher& matcher) const {
  std::vector<Found> found;
  if (matcher.empty()) return found;
  size_t split_end = 0;  // where the last accepted token (with what it stripped) ends
  for (size_t at = 0; at < text.size();) {
    auto match = matcher.longest_at(text, at);
    if (!match) {
      ++at;
      continue;
    }
    size_t begin = at, end = at + match->first;
    at = end;  // matches never overlap, even those refused below
    const AddedToken& token = tokens_.at(match->second).token;
    if (token.single_word) {
      auto before = char_before(text, begin), after = char_at(text, end);
      if ((before && unicode::is_word_char(*before)) || (after && unicode::is_word_char(*after)))
        continue;
    }
    if (token.lstrip) {
      while (begin > split_end) {
        auto c = char_before(text, begin);
        if (!unicode::is_whitespace(*c)) break;
        begin -= utf8::encode(*c).size();
      }
    }
    if (token.rstrip) {
      while (auto c = char_at(text, end)) {
        if (!unicode::is_whitespace(*c)) break;
        end += utf8::encode(*c).size();
      }
    }
    begin = std::max(begin, split_end);
    found.push_back({begin, end, match->second});
    split_end = end;
  }
  return found;
}

template <class OnGap>
void AddedVocabulary::split(std::string_view text, bool at_start, const Matcher& matcher,
                            Pieces& out, OnGap&& on_gap) const {
  size_t previous = 0;
  auto gap = [&](size_t end) {
    if (previous < end) on_gap(std::string(text.substr(previous, end - previous)), at_start && previous == 0);
  };
  for (const Found& f : find(text, matcher)) {
    gap(f.begin);
    out.push_back({std::string(text.substr(f.begin, f.end - f.begin)), at_start && f.begin == 0, f.id});
    previous = f.end;
  }
  gap(text.size());
}

Pieces AddedVocabulary::extract_and_normalize(std::string_view text,
                                              const Normalizer* normalizer) const {
  Pieces out;
  // First the tokens matched in the raw text, then, in each normalised gap between them, the
  // tokens matched against their normalised content.
  split(text, true, raw_, out, [&](std::string gap, bool gap_at_start) {
    std::string normalized = normalizer ? normalizer->normalize(std::move(gap)) : std::move(gap);
    split(normalized, gap_at_start, normalized_, out, [&](std::string piece, bool piece_at_start) {
      out.push_back({std::move(piece), piece_at_start, -1});
    });
  });
  return out;
}

std::optional<int32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = ids_.find(content);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* AddedVocabulary::id_to_token(int32_t id) const {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second.decoded;
}

bool AddedVocabulary::is_special(std::string_view token) const {
  return special_.find(token) != special_.end();
}

bool AddedVocabulary::is_special_id(int32_t id) const {
  auto it = tokens_.find(id);
  return it != tokens_.end() && it->second.token.special;
}

}  // namespace pq::tok
