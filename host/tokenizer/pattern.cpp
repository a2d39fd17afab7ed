#include "host/tokenizer/pattern.h"

#include <stdexcept>

namespace pq::tok {

Regex make_pattern(const JsonNode& node) {
  if (!node.json().is_object() || node.json().size() != 1)
    node.fail(R"(expected {"String": "..."} or {"Regex": "..."})");
  try {
    if (auto literal = node.find("String")) return Regex::literal(literal->as_string());
    if (auto regex = node.find("Regex")) {
      std::string text = regex->as_string();
      try {
        return Regex(text);
      } catch (const std::invalid_argument& e) {
        regex->fail(e.what());
      }
    }
  } catch (const std::invalid_argument& e) {
    node.fail(e.what());
  }
  node.fail(R"(expected {"String": "..."} or {"Regex": "..."})");
}

std::string replace_matches(const Regex& pattern, std::string_view text, std::string_view content) {
  if (text.empty()) return {};
  std::string out;
  out.reserve(text.size());
  size_t previous = 0;
  for (const Regex::Match& m : pattern.find_all(text)) {
    out.append(text.substr(previous, m.begin - previous));
    out.append(content);
    previous = m.end;
  }
  out.append(text.substr(previous));
  return out;
}

}  // namespace pq::tok
