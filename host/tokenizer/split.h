// HF's NormalizedString::split: find the pattern's matches in a text, then cut the text
// according to a SplitDelimiterBehavior. Shared by the Split, Digits, Punctuation, Metaspace,
// Whitespace and BERT pre-tokenizers.
#pragma once

#include <string_view>
#include <vector>

#include "host/tokenizer/json_node.h"
#include "host/tokenizer/piece.h"
#include "host/tokenizer/regex.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous".
SplitBehavior parse_split_behavior(const JsonNode& node);

// The text covered by consecutive spans, each a match of the pattern or a gap between them.
struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// Regex matches (find_all) with the gaps between them; a single non-match span for "".
std::vector<Span> spans_of_matches(const std::vector<Regex::Match>& matches, size_t text_size);
// Every character for which is_match(c) holds is a match of its own.
template <class Predicate>
std::vector<Span> spans_of_chars(std::string_view text, Predicate&& is_match) {
  if (text.empty()) return {{0, 0, false}};
  std::vector<Span> spans;
  size_t gap_begin = 0;
  utf8::for_each_char(text, [&](char32_t c, size_t offset, size_t length) {
    if (!is_match(c)) return;
    if (gap_begin < offset) spans.push_back({gap_begin, offset, false});
    spans.push_back({offset, offset + length, true});
    gap_begin = offset + length;
  });
  if (gap_begin < text.size()) spans.push_back({gap_begin, text.size(), false});
  return spans;
}

// Flips is_match (Split's "invert").
void invert(std::vector<Span>& spans);

// The cuts the behaviour makes of the spans (empty cuts included; split_pieces drops them).
std::vector<Cut> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior);

}  // namespace pq::tok
