// The pattern member of Split, Replace (normalizer) and Replace (decoder):
// {"String": "<literal>"} or {"Regex": "<Oniguruma pattern>"}.
#pragma once

#include <string>
#include <string_view>

#include "host/tokenizer/json_node.h"
#include "host/tokenizer/regex.h"

namespace pq::tok {

Regex make_pattern(const JsonNode& node);

// Every match of `pattern` in `text` replaced by `content` (nothing is replaced in ""), as
// NormalizedString::replace and the Replace decoder do.
std::string replace_matches(const Regex& pattern, std::string_view text, std::string_view content);

}  // namespace pq::tok
