#include "host/tokenizer/split.h"

#include <algorithm>

namespace pq::tok {

SplitBehavior parse_split_behavior(const JsonNode& node) {
  std::string name = node.as_string();
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  node.fail("unknown split behavior '" + name +
            "' (supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
}

std::vector<Span> spans_of_matches(const std::vector<Regex::Match>& matches, size_t text_size) {
  if (text_size == 0) return {{0, 0, false}};
  std::vector<Span> spans;
  spans.reserve(2 * matches.size() + 1);
  size_t previous = 0;
  for (const Regex::Match& m : matches) {
    if (previous != m.begin) spans.push_back({previous, m.begin, false});
    spans.push_back({m.begin, m.end, true});
    previous = m.end;
  }
  if (previous != text_size) spans.push_back({previous, text_size, false});
  return spans;
}

void invert(std::vector<Span>& spans) {
  for (Span& s : spans) s.is_match = !s.is_match;
}

std::vector<Cut> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<Cut> cuts;
  cuts.reserve(spans.size());
  // Mirrors the folds of NormalizedString::split: whether a span joins the cut before it.
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Span& s : spans) cuts.push_back({s.begin, s.end});
      break;
    case SplitBehavior::Removed:
      for (const Span& s : spans)
        if (!s.is_match) cuts.push_back({s.begin, s.end});
      break;
    case SplitBehavior::Contiguous:
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !cuts.empty()) cuts.back().end = s.end;
        else cuts.push_back({s.begin, s.end});
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !cuts.empty()) cuts.back().end = s.end;
        else cuts.push_back({s.begin, s.end});
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !cuts.empty()) cuts.back().begin = it->begin;
        else cuts.push_back({it->begin, it->end});
        previous_match = it->is_match;
      }
      std::reverse(cuts.begin(), cuts.end());
      break;
  }
  return cuts;
}

}  // namespace pq::tok
